import Foundation
import Models
import Testing

@Suite("RawInteraction")
struct RawInteractionTests {
    @Test func decodesTheFullFixture() throws {
        let raw = try TandemJSON.decode(RawInteraction.self, from: try fixture("raw-interaction-full"))
        let expected = RawInteraction(
            eventId: "cti-20261125-000123",
            occurredAt: utc(2026, 11, 25, 8, 30, 0, ms: 123),
            channel: "phone",
            kind: "complaint",
            customerId: "C-10086",
            department: "after_sales",
            topic: "billing",
            queue: "vip",
            teamId: "T7",
            agentId: "A042",
            waitSeconds: 42.5,
            answered: true,
            handleSeconds: 310,
            resolved: false,
            transfers: 2,
            sentiment: -0.75,
            signals: ["churn_threat", "competitor_mention", "interest:plan"],
            campaignId: "double11",
            text: "客户说：\"套餐太贵了\" 😀\n路径 a/b \\ café 🚀",
            attributes: ["crmTicket": "TK-1", "语言": "中文"]
        )
        #expect(raw == expected)
        #expect(raw.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(raw) == raw)
    }

    @Test func decodesAnOpinionWithoutCustomer() throws {
        let raw = try TandemJSON.decode(RawInteraction.self, from: try fixture("raw-interaction-opinion"))
        #expect(raw.customerId == nil)
        #expect(raw.channel == " 微博 ")
        #expect(raw.normalizedChannel == .weibo)
        #expect(raw.interactionKind == .opinion)
        #expect(raw.reach == 9_007_199_254_740_991)
        #expect(raw.text == "信号太差了 📶❌")
        #expect(raw.occurredAt == utc(2026, 11, 25, 8, 0))
        let sentiment = try #require(raw.sentiment)
        #expect(sentiment == 0 && sentiment.sign == .minus)
        #expect(raw.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(raw) == raw)
    }

    @Test func decodesOddNumbers() throws {
        let raw = try TandemJSON.decode(RawInteraction.self, from: try fixture("raw-interaction-odd-numbers"))
        #expect(raw.waitSeconds == 100)
        #expect(raw.handleSeconds == 0.0015)
        #expect(raw.reach == 123_456_789_012_345)
        #expect(raw.csat == 5 && raw.effort == 1 && raw.nps == 10 && raw.transfers == 0)
        #expect(raw.occurredAt == utc(2026, 11, 25, 8, 30, 0, ms: 100))
        #expect(raw.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(raw) == raw)
    }

    @Test func anIntegerWrittenWithAnExponentIsAnInteger() throws {
        let raw = try TandemJSON.decode(RawInteraction.self, from: #"{"transfers":1e2,"csat":3.0}"#)
        #expect(raw.transfers == 100)
        #expect(raw.csat == 3)
    }

    @Test func encodingOmitsAbsentFieldsAndWritesCamelCase() throws {
        let object = try jsonObject(validRaw())
        #expect(Set(object.keys) == ["eventId", "occurredAt", "channel", "kind", "customerId"])
        #expect(object["occurredAt"] as? String == "2026-11-25T08:30:00.000Z")
        let text = try TandemJSON.encodeString(validRaw())
        #expect(
            text
                == #"{"channel":"phone","customerId":"C-1","eventId":"e-1","kind":"inquiry","occurredAt":"2026-11-25T08:30:00.000Z"}"#
        )
    }

    @Test func aValidRecordHasNoErrors() throws {
        #expect(validRaw().validationErrors(now: now).isEmpty)
        try validRaw().validate(now: now)
    }

    // MARK: - One test per rule of SPEC §2's table

    @Test func eventIdIsRequired() {
        var raw = validRaw()
        raw.eventId = nil
        #expect(rules(raw.validationErrors(now: now)) == ["eventId:required"])
    }

    @Test func eventIdIsOneTo128Characters() {
        var raw = validRaw()
        raw.eventId = ""
        #expect(rules(raw.validationErrors(now: now)) == ["eventId:length"])
        raw.eventId = String(repeating: "x", count: 129)
        #expect(rules(raw.validationErrors(now: now)) == ["eventId:length"])
        raw.eventId = String(repeating: "x", count: 128)
        #expect(raw.validationErrors(now: now).isEmpty)
        raw.eventId = String(repeating: "事", count: 128)  // 384 bytes, 128 characters
        #expect(raw.validationErrors(now: now).isEmpty)
    }

    @Test func occurredAtIsRequired() {
        var raw = validRaw()
        raw.occurredAt = nil
        #expect(rules(raw.validationErrors(now: now)) == ["occurredAt:required"])
    }

    @Test func occurredAtAtMostFiveMinutesInTheFuture() {
        var raw = validRaw()
        raw.occurredAt = utc(2026, 11, 25, 9, 5, 0)  // exactly now + 5 min: accepted
        #expect(raw.validationErrors(now: now).isEmpty)
        raw.occurredAt = utc(2026, 11, 25, 9, 5, 0, ms: 1)
        let errors = raw.validationErrors(now: now)
        #expect(rules(errors) == ["occurredAt:future"])
        #expect(errors.first?.value == "2026-11-25T09:05:00.001Z")
        raw.occurredAt = utc(2020, 1, 1)  // the past is fine
        #expect(raw.validationErrors(now: now).isEmpty)
    }

    @Test func channelIsRequired() {
        var raw = validRaw()
        raw.channel = nil
        #expect(rules(raw.validationErrors(now: now)) == ["channel:required"])
    }

    @Test func channelMustBeKnownAfterAliasNormalisation() {
        var raw = validRaw()
        raw.channel = "fax"
        let errors = raw.validationErrors(now: now)
        #expect(rules(errors) == ["channel:enum"])
        #expect(errors.first?.value == "fax")
        raw.channel = "微信"
        #expect(raw.validationErrors(now: now).isEmpty)
        raw.channel = ""
        #expect(rules(raw.validationErrors(now: now)) == ["channel:enum"])
    }

    @Test func kindIsRequired() {
        var raw = validRaw()
        raw.kind = nil
        #expect(rules(raw.validationErrors(now: now)) == ["kind:required"])
    }

    @Test func kindMustBeKnown() {
        var raw = validRaw()
        raw.kind = "praise"
        #expect(rules(raw.validationErrors(now: now)) == ["kind:enum"])
        raw.kind = "Complaint"  // kinds are not aliased
        #expect(rules(raw.validationErrors(now: now)) == ["kind:enum"])
        for kind in ["inquiry", "request", "complaint", "follow_up", "outbound", "survey", "opinion"] {
            raw.kind = kind
            #expect(raw.validationErrors(now: now).isEmpty, "kind \(kind)")
        }
    }

    @Test func customerIdIsRequiredExceptForOpinion() {
        var raw = validRaw()
        raw.customerId = nil
        #expect(rules(raw.validationErrors(now: now)) == ["customerId:required"])
        raw.kind = "opinion"
        #expect(raw.validationErrors(now: now).isEmpty)
    }

    @Test func customerIdIsOneTo64Characters() {
        var raw = validRaw()
        raw.customerId = ""
        #expect(rules(raw.validationErrors(now: now)) == ["customerId:length"])
        raw.customerId = String(repeating: "9", count: 65)
        #expect(rules(raw.validationErrors(now: now)) == ["customerId:length"])
        raw.customerId = String(repeating: "9", count: 64)
        #expect(raw.validationErrors(now: now).isEmpty)
        raw.kind = "opinion"
        raw.customerId = String(repeating: "9", count: 65)  // still checked when present
        #expect(rules(raw.validationErrors(now: now)) == ["customerId:length"])
    }

    @Test func departmentMustBeAllowed() {
        var raw = validRaw()
        raw.department = "marketing"
        #expect(rules(raw.validationErrors(now: now)) == ["department:enum"])
        for department in ["service", "after_sales", "product", "store"] {
            raw.department = department
            #expect(raw.validationErrors(now: now).isEmpty)
        }
    }

    @Test func waitSecondsNotNegative() {
        var raw = validRaw()
        raw.waitSeconds = -0.5
        #expect(rules(raw.validationErrors(now: now)) == ["waitSeconds:range"])
        raw.waitSeconds = 0
        #expect(raw.validationErrors(now: now).isEmpty)
        raw.waitSeconds = .infinity
        #expect(rules(raw.validationErrors(now: now)) == ["waitSeconds:range"])
        raw.waitSeconds = .nan
        #expect(rules(raw.validationErrors(now: now)) == ["waitSeconds:range"])
    }

    @Test func handleSecondsNotNegative() {
        var raw = validRaw()
        raw.handleSeconds = -1
        #expect(rules(raw.validationErrors(now: now)) == ["handleSeconds:range"])
    }

    @Test func transfersNotNegative() {
        var raw = validRaw()
        raw.transfers = -1
        #expect(rules(raw.validationErrors(now: now)) == ["transfers:range"])
        raw.transfers = 0
        #expect(raw.validationErrors(now: now).isEmpty)
    }

    @Test func csatOneToFive() {
        var raw = validRaw()
        raw.csat = 0
        #expect(rules(raw.validationErrors(now: now)) == ["csat:range"])
        raw.csat = 6
        #expect(rules(raw.validationErrors(now: now)) == ["csat:range"])
        raw.csat = 9
        let errors = raw.validationErrors(now: now)
        #expect(errors.map(\.value) == ["9"])
        raw.csat = 1
        #expect(raw.validationErrors(now: now).isEmpty)
        raw.csat = 5
        #expect(raw.validationErrors(now: now).isEmpty)
    }

    @Test func effortOneToFive() {
        var raw = validRaw()
        raw.effort = 0
        #expect(rules(raw.validationErrors(now: now)) == ["effort:range"])
        raw.effort = 6
        #expect(rules(raw.validationErrors(now: now)) == ["effort:range"])
    }

    @Test func npsZeroToTen() {
        var raw = validRaw()
        raw.nps = -1
        #expect(rules(raw.validationErrors(now: now)) == ["nps:range"])
        raw.nps = 11
        #expect(rules(raw.validationErrors(now: now)) == ["nps:range"])
        raw.nps = 0
        #expect(raw.validationErrors(now: now).isEmpty)
        raw.nps = 10
        #expect(raw.validationErrors(now: now).isEmpty)
    }

    @Test func sentimentMinusOneToOne() {
        var raw = validRaw()
        raw.sentiment = -1.01
        #expect(rules(raw.validationErrors(now: now)) == ["sentiment:range"])
        raw.sentiment = 1.5
        #expect(rules(raw.validationErrors(now: now)) == ["sentiment:range"])
        raw.sentiment = -1
        #expect(raw.validationErrors(now: now).isEmpty)
        raw.sentiment = 1
        #expect(raw.validationErrors(now: now).isEmpty)
    }

    @Test func reachNotNegative() {
        var raw = validRaw()
        raw.reach = -3
        #expect(rules(raw.validationErrors(now: now)) == ["reach:range"])
    }

    @Test func textAtMost8KiBOfUTF8() {
        var raw = validRaw()
        raw.text = String(repeating: "a", count: 8192)
        #expect(raw.validationErrors(now: now).isEmpty)
        raw.text = String(repeating: "a", count: 8193)
        #expect(rules(raw.validationErrors(now: now)) == ["text:length"])
        // 2731 Chinese characters are 8193 bytes: bytes count, not characters.
        raw.text = String(repeating: "中", count: 2731)
        #expect(rules(raw.validationErrors(now: now)) == ["text:length"])
        raw.text = String(repeating: "中", count: 2730) + "ab"  // 8192 bytes
        #expect(raw.validationErrors(now: now).isEmpty)
    }

    @Test func everyBrokenRuleIsReportedInFieldOrder() {
        let raw = RawInteraction(
            occurredAt: utc(2026, 11, 25, 10, 0),
            channel: "fax",
            kind: "inquiry",
            waitSeconds: -1,
            csat: 9,
            nps: 11
        )
        #expect(
            rules(raw.validationErrors(now: now)) == [
                "eventId:required", "occurredAt:future", "channel:enum", "customerId:required", "waitSeconds:range",
                "csat:range", "nps:range",
            ]
        )
        #expect(rulesThrown { try raw.validate(now: now) }.count == 7)
    }

    @Test func anEmptyObjectDecodesAndNamesEveryMissingField() throws {
        let raw = try TandemJSON.decode(RawInteraction.self, from: "{}")
        #expect(
            rules(raw.validationErrors(now: now)) == [
                "eventId:required", "occurredAt:required", "channel:required", "kind:required", "customerId:required",
            ]
        )
    }

    @Test func aHundredKilobyteTextDecodesAndIsRejected() throws {
        let text = String(repeating: "好", count: 34_000)  // 102 000 bytes
        let json =
            #"{"eventId":"e","occurredAt":"2026-11-25T08:00:00Z","channel":"sms","kind":"inquiry","customerId":"c","text":""#
            + text + #""}"#
        let raw = try TandemJSON.decode(RawInteraction.self, from: json)
        let errors = raw.validationErrors(now: now)
        #expect(rules(errors) == ["text:length"])
        #expect((errors.first?.value?.count ?? 0) <= 65)  // the error does not carry 100 KB
    }
}
