import Foundation
import Testing

@testable import Models

/// The transcoder's contract: for every payload, either it declines, or the reference path
/// (Foundation's decoder, `Interaction(normalizing:receivedAt:)`, masking, Foundation's encoder)
/// accepts the record and writes the very same bytes — and for well-formed valid records it must
/// not decline.
@Suite("InteractionTranscoder equals the reference path")
struct InteractionTranscoderTests {
    /// "Now": 2026-11-25T08:30:00.000Z.
    static let now: Int64 = 1_795_595_400_000

    /// A stand-in for intake's PII masker that changes lengths both ways: digits become `#`,
    /// an `@` becomes `(at)`, a run of spaces one space.
    static func mask(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard bytes.contains(where: { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x40 || $0 == 0x20 }) else { return nil }
        var out: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case 0x30...0x39: out.append(UInt8(ascii: "#"))
            case 0x40: out.append(contentsOf: "(at)".utf8)
            case 0x20 where index > 0 && bytes[index - 1] == 0x20: continue
            default: out.append(byte)
            }
        }
        return out
    }

    static func maskString(_ text: String) -> String {
        var text = text
        return text.withUTF8(mask).map { String(decoding: $0, as: UTF8.self) } ?? text
    }

    /// The reference path's bytes, id, event time and key; nil when it rejects the record.
    static func reference(_ bytes: [UInt8]) -> (value: [UInt8], eventId: String, occurredAt: Int64, key: [UInt8])? {
        guard let raw = try? TandemJSON.decode(RawInteraction.self, from: bytes),
            var interaction = try? Interaction(
                normalizing: raw,
                receivedAt: Timestamp.date(millisecondsSince1970: now)
            )
        else { return nil }
        interaction.text = interaction.text.map(maskString)
        interaction.attributes = interaction.attributes?.mapValues(maskString)
        guard let value = try? TandemJSON.encode(interaction) else { return nil }
        return (
            value, interaction.eventId, Timestamp.milliseconds(interaction.occurredAt),
            Array((interaction.customerId ?? interaction.eventId).utf8)
        )
    }

    /// Checks one payload; returns whether the transcoder took it.
    @discardableResult
    static func check(
        _ transcoder: InteractionTranscoder,
        _ bytes: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let clean = bytes.withUnsafeBytes { value in
            transcoder.transcode(value, receivedAt: now).map {
                (String(decoding: $0.eventId, as: UTF8.self), $0.occurredAt, Array($0.key), Array($0.value))
            }
        }
        let reference = reference(bytes)
        let payload = String(decoding: bytes, as: UTF8.self).debugDescription
        guard let clean else { return false }
        guard let reference else {
            Issue.record("took a record the reference rejects: \(payload)", sourceLocation: sourceLocation)
            return true
        }
        let written = String(decoding: clean.3, as: UTF8.self)
        #expect(
            written == String(decoding: reference.value, as: UTF8.self),
            "\(payload)",
            sourceLocation: sourceLocation
        )
        let sameBytes = clean.3 == reference.value  // String's == is canonical equivalence
        #expect(sameBytes, "\(payload)", sourceLocation: sourceLocation)
        #expect(clean.0 == reference.eventId, sourceLocation: sourceLocation)
        #expect(clean.1 == reference.occurredAt, sourceLocation: sourceLocation)
        #expect(clean.2 == reference.key, sourceLocation: sourceLocation)
        return true
    }

    @Test func wellFormedValidRecordsAreAllTakenAndWrittenAsTheReferenceWritesThem() {
        var generator = ValidRecordGenerator(seed: 0x7C0D_2026)
        let transcoder = InteractionTranscoder(mask: Self.mask)
        var declined: [String] = []
        for _ in 0..<6000 {
            let text = generator.record(asciiTokens: true, margin: true)
            if !Self.check(transcoder, Array(text.utf8)) { declined.append(text) }
        }
        #expect(declined.isEmpty, "declined \(declined.count), e.g. \(declined.prefix(3))")
        #expect(transcoder.declined == declined.count)
    }

    /// Every kind of broken rule, boundary dates, non-ASCII tokens and damaged bytes: whatever
    /// the transcoder takes, the reference takes and writes identically.
    @Test func brokenAndMutatedRecordsAreNeverTakenDifferently() {
        var generator = ValidRecordGenerator(seed: 0xB40C_2026)
        let transcoder = InteractionTranscoder(mask: Self.mask)
        var taken = 0
        var rejected = 0
        for round in 0..<12_000 {
            var bytes = Array(generator.record(asciiTokens: false, margin: false, breakRules: true).utf8)
            if round % 3 == 0 { generator.mutate(&bytes) }
            if Self.check(transcoder, bytes) { taken += 1 }
            if Self.reference(bytes) == nil { rejected += 1 }
        }
        // Both sides must be exercised.
        #expect(taken > 3000, "only \(taken) taken")
        #expect(rejected > 3000, "only \(rejected) rejected")
    }

    @Test func theFutureLimitIsLeftToTheReferenceWithinAMillisecond() {
        let transcoder = InteractionTranscoder(mask: Self.mask)
        func record(aheadBy milliseconds: Int64) -> [UInt8] {
            let at = Timestamp.format(Timestamp.date(millisecondsSince1970: Self.now + milliseconds))!
            return Array(
                #"{"eventId":"e","occurredAt":"\#(at)","channel":"phone","kind":"inquiry","customerId":"c"}"#.utf8
            )
        }
        #expect(Self.check(transcoder, record(aheadBy: 299_998)))
        for ahead: Int64 in [299_999, 300_000, 300_001, 300_002, 86_400_000] {
            #expect(!Self.check(transcoder, record(aheadBy: ahead)))
        }
        #expect(Self.reference(record(aheadBy: 300_000)) != nil)
        #expect(Self.reference(record(aheadBy: 300_001)) == nil)
    }

    @Test func datesOutsideTheWritableYearsAreDeclined() {
        let transcoder = InteractionTranscoder(mask: Self.mask)
        for (at, taken) in [
            ("0001-01-01T00:00:00.000Z", true), ("0001-01-01T00:30:00+01:00", false),
            ("0001-01-01T00:00:00+00:01", false),
        ] {
            let bytes = Array(
                #"{"eventId":"e","occurredAt":"\#(at)","channel":"phone","kind":"inquiry","customerId":"c"}"#.utf8
            )
            #expect(Self.check(transcoder, bytes) == taken, "\(at)")
        }
    }
}

/// Seeded RawInteraction texts that keep the rules (or, with `breakRules`, break one or more of
/// them now and then): channel aliases, kinds, departments, in-range measures, tokens to normalise,
/// text with digits and `@`, attributes, odd whitespace and escapes.
struct ValidRecordGenerator {
    private var random: RecordGenerator

    init(seed: UInt64) { random = RecordGenerator(seed: seed) }

    static let channels = [
        "phone", "电话", " Phone ", "WeChat", "微信", "weixin", "chat", "在线", "web-chat", "app", "sms", "email", "E-Mail",
        "store", "门店", "12315", "12345", "hotline_12345", "weibo", "微博", "tieba", "zhihu", "toutiao", "公众号",
        "tv", "电台", "报纸", "regulator", "行业协会",
    ]
    static let kinds = ["inquiry", "request", "complaint", "follow_up", "outbound", "survey", "opinion"]
    static let departments = ["service", "after_sales", "product", "store"]
    static let asciiTokens = [
        "billing", "Network Quality", " plan ", "ROAMING", "churn_threat", "interest:Broadband", "\tDevice\n", "",
    ]
    static let otherTokens = ["账单", "Ärger", " İstanbul ", "ǅ", "\u{00A0}plan\u{00A0}", "e\u{301}"]

    mutating func record(asciiTokens: Bool, margin: Bool, breakRules: Bool = false) -> String {
        func quoted(_ text: String) -> String {
            let data = try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
            return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
        }
        func maybe(_ percent: Int) -> Bool { random.chance(percent) }
        func nonEmpty() -> String {
            let literal = random.string()
            return literal == "\"\"" ? "\"e\"" : literal
        }
        let broken = breakRules && maybe(40)
        var members: [String] = []
        let kind = broken && maybe(10) ? random.pick(["Inquiry", "praise", ""]) : random.pick(Self.kinds)
        if !(broken && maybe(5)) {
            let id =
                broken && maybe(10)
                ? random.pick(["", String(repeating: "x", count: 129), String(repeating: "字", count: 129)])
                : random.pick([
                    "e-\(random.int(0..<1_000_000))", String(repeating: "字", count: 100), "id with \"quotes\"",
                    nonEmpty(),
                ])
            members.append(#""eventId":"# + (id.hasPrefix("\"") ? id : quoted(id)))
        }
        if !(broken && maybe(5)) {
            // Mostly the past week; sometimes close to (or past) the 5-minute future limit.
            var ahead = -Int64(random.int(0..<604_800_000))
            if maybe(10) { ahead = Int64(random.int(0..<(margin ? 299_999 : 600_000))) }
            let at = Timestamp.format(Timestamp.date(millisecondsSince1970: InteractionTranscoderTests.now + ahead))!
            members.append(#""occurredAt":"# + quoted(maybe(20) ? String(at.dropLast(5)) + "+00:00" : at))
        }
        if !(broken && maybe(5)) {
            members.append(#""channel":"# + quoted(broken && maybe(10) ? "carrier pigeon" : random.pick(Self.channels)))
        }
        if !(broken && maybe(5)) { members.append(#""kind":"# + quoted(kind)) }
        if kind != "opinion" || maybe(30) {
            if !(broken && maybe(10)) {
                let customer = broken && maybe(10) ? String(repeating: "c", count: 65) : "C-\(random.int(0..<100_000))"
                members.append(#""customerId":"# + quoted(maybe(10) ? "客户" + customer : customer))
            }
        }
        if maybe(60) {
            members.append(#""department":"# + quoted(broken && maybe(10) ? "sales" : random.pick(Self.departments)))
        }
        let tokens = asciiTokens ? Self.asciiTokens : Self.asciiTokens + Self.otherTokens
        if maybe(60) { members.append(#""topic":"# + quoted(random.pick(tokens))) }
        if maybe(40) {
            members.append(
                #""signals":["#
                    + (0..<random.int(0..<4)).map { _ in quoted(random.pick(tokens)) }.joined(separator: ",") + "]"
            )
        }
        for field in ["queue", "teamId", "agentId", "refersTo", "brand", "campaignId"] where maybe(30) {
            members.append(quoted(field) + ":" + (maybe(20) ? "null" : random.string()))
        }
        func number(_ field: String, _ valid: [String], _ invalid: [String]) {
            guard maybe(30) else { return }
            members.append(quoted(field) + ":" + (broken && maybe(15) ? random.pick(invalid) : random.pick(valid)))
        }
        number("waitSeconds", ["0", "12.5", "310", "1e2", "0.1", "-0.0"], ["-1", "-0.5"])
        number("handleSeconds", ["0", "300", "42.25", "1.5E-3"], ["-3"])
        number("transfers", ["0", "2", "1.0"], ["-1"])
        number("csat", ["1", "5", "3"], ["0", "6"])
        number("effort", ["1", "5"], ["9"])
        number("nps", ["0", "10", "7"], ["11", "-1"])
        number("sentiment", ["-1", "1", "0.25", "-0.75", "0"], ["1.5", "-2"])
        number("reach", ["0", "123456"], ["-5"])
        if maybe(30) { members.append(#""answered":"# + random.pick(["true", "false", "null"])) }
        if maybe(30) { members.append(#""resolved":"# + random.pick(["true", "false"])) }
        if maybe(60) {
            var text = random.pick(["电话 139 1234 5611 邮箱 a@b.cn", "no digits here", "  two  spaces ", "", "x@y"])
            if broken && maybe(10) { text = String(repeating: "长", count: 2800) }
            members.append(#""text":"# + (maybe(30) ? random.string() : quoted(text)))
        }
        if maybe(20) {
            let pairs = (0..<random.int(0..<4)).map { _ in
                random.string() + ":" + quoted(random.pick(["13912345611", "a b  c", "plain"]))
            }
            members.append(#""attributes":{"# + pairs.joined(separator: ",") + "}")
        }
        if maybe(10) { members.append(#""futureField":{"nested":[1,2,{"a":null}]}"#) }
        members.shuffle(using: &random)
        return "{" + members.joined(separator: random.pick([",", ", ", ",\n"])) + "}"
    }

    mutating func mutate(_ bytes: inout [UInt8]) { random.mutate(&bytes) }
}
