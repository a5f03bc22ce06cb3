import Foundation
import Models
import Testing

@Suite("Interaction")
struct InteractionTests {
    @Test func decodesTheFixture() throws {
        let interaction = try TandemJSON.decode(Interaction.self, from: try fixture("interaction"))
        let expected = Interaction(
            eventId: "chat-55",
            occurredAt: utc(2026, 11, 25, 8, 30),
            receivedAt: utc(2026, 11, 25, 8, 30, 1, ms: 250),
            channel: .hotline12315,
            kind: .complaint,
            customerId: "C-77",
            topic: "roaming",
            resolved: false,
            text: "号码 139****5611 投诉漫游费"
        )
        #expect(interaction == expected)
        #expect(interaction.channelGroup == .offlineOpinion)
        #expect(interaction.escalation)
        #expect(interaction.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(interaction) == interaction)
    }

    @Test func channelGroupAndEscalationFollowTheChannel() throws {
        let chat = Interaction(
            eventId: "e",
            occurredAt: utc(2026, 11, 25, 8, 0),
            receivedAt: utc(2026, 11, 25, 8, 0),
            channel: .zhihu,
            kind: .opinion
        )
        let object = try jsonObject(chat)
        #expect(object["channelGroup"] as? String == "online_opinion")
        #expect(object["escalation"] as? Bool == false)
        #expect(object["channel"] as? String == "zhihu")
        #expect(object["kind"] as? String == "opinion")
        #expect(object["customerId"] == nil)
        #expect(object["receivedAt"] as? String == "2026-11-25T08:00:00.000Z")
    }

    @Test func normalisesARawInteraction() throws {
        let raw = RawInteraction(
            eventId: "e-9",
            occurredAt: utc(2026, 11, 25, 8, 29),
            channel: " WeChat ",
            kind: "request",
            customerId: "C-9",
            department: "store",
            topic: "Roaming",
            signals: ["Churn_Threat", "interest:Plan"],
            text: "你好"
        )
        let interaction = try Interaction(normalizing: raw, receivedAt: utc(2026, 11, 25, 8, 30))
        #expect(interaction.channel == .wechat)
        #expect(interaction.channelGroup == .contact)
        #expect(interaction.escalation == false)
        #expect(interaction.kind == .request)
        #expect(interaction.department == .store)
        #expect(interaction.topic == "roaming")
        #expect(interaction.signals == ["churn_threat", "interest:plan"])
        #expect(interaction.receivedAt == utc(2026, 11, 25, 8, 30))
        #expect(interaction.text == "你好")
    }

    /// The fast ASCII path gives exactly what Foundation's trimming and lower-casing give.
    @Test(arguments: [
        "roaming", "Roaming", "  Network Quality\t", "\nplan change\r\n", "ALL CAPS", "", "   ", "a", "Z",
        "interest:Plan", "  已解决 ", "Café", " ÉCOLE ", "x\u{0B}", "\u{0C}y", "tab\tinside", "_-~[]{}@^`",
        "\u{00A0}nbsp\u{00A0}", "mixed 中文 Topic",
    ])
    func topicsAndSignalsAreTrimmedAndLowerCasedLikeFoundationDoes(text: String) throws {
        var raw = validRaw()
        raw.topic = text
        raw.signals = [text]
        let interaction = try Interaction(normalizing: raw, receivedAt: utc(2026, 11, 25, 8, 30))
        let expected = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        #expect(interaction.topic == expected)
        #expect(interaction.signals == [expected])
    }

    @Test func normalisingAnInvalidRawInteractionThrowsItsErrors() {
        var raw = validRaw()
        raw.channel = "pager"
        raw.csat = 0
        #expect(
            rulesThrown { _ = try Interaction(normalizing: raw, receivedAt: now) } == ["channel:enum", "csat:range"]
        )
    }

    @Test func inconsistentGroupAndEscalationAreRejected() throws {
        let json =
            #"{"eventId":"e","occurredAt":"2026-11-25T08:00:00Z","receivedAt":"2026-11-25T08:00:00Z","channel":"regulator","channelGroup":"contact","escalation":false,"kind":"complaint","customerId":"c"}"#
        let interaction = try TandemJSON.decode(Interaction.self, from: json)
        #expect(
            rules(interaction.validationErrors(now: now)) == ["channelGroup:consistency", "escalation:consistency"]
        )
    }

    @Test func interactionRulesAreTheRawOnes() {
        var interaction = Interaction(
            eventId: "",
            occurredAt: utc(2026, 11, 25, 8, 0),
            receivedAt: utc(2026, 11, 25, 8, 0),
            channel: .phone,
            kind: .survey,
            customerId: "c",
            nps: 12
        )
        #expect(rules(interaction.validationErrors(now: now)) == ["eventId:length", "nps:range"])
        interaction.eventId = "e"
        interaction.nps = 10
        interaction.customerId = nil
        #expect(rules(interaction.validationErrors(now: now)) == ["customerId:required"])
    }

    @Test func anUnknownChannelDoesNotDecode() {
        let json =
            #"{"eventId":"e","occurredAt":"2026-11-25T08:00:00Z","receivedAt":"2026-11-25T08:00:00Z","channel":"fax","channelGroup":"contact","escalation":false,"kind":"complaint"}"#
        guard case .decoding(let field, _) = decodingError(Interaction.self, json) else {
            Issue.record("expected a decoding error")
            return
        }
        #expect(field == "channel")
    }
}
