import Foundation
import Models
import TestSupport
import Testing

/// The fast decoder's contract is the reference's behaviour: for every payload, the same record
/// or the same error as `TandemJSON.decode(RawInteraction.self, …)`.
@Suite("FastJSON decoding equals the reference")
struct FastJSONDecoderTests {
    /// What decoding gave: the record's canonical bytes (so that -0.0, string bytes and key
    /// spellings count), or the error.
    enum Outcome: Equatable, CustomStringConvertible {
        case record(RawInteraction, [UInt8])
        case error(ModelError)

        var description: String {
            switch self {
            case .record(_, let bytes): return "record " + String(decoding: bytes, as: UTF8.self)
            case .error(let error): return "error \(error)"
            }
        }
    }

    static func outcome(_ body: () throws(ModelError) -> RawInteraction) -> Outcome {
        do {
            let raw = try body()
            return .record(raw, (try? TandemJSON.encode(raw)) ?? [])
        } catch {
            return .error(stable(error))
        }
    }

    /// The reference itself is not deterministic in one respect: when several numbers cannot be
    /// represented, the one its message names depends on dictionary order, which varies between
    /// calls. That part of the message is left out of comparisons.
    static func stable(_ error: ModelError) -> ModelError {
        let prefix = "payload is not valid JSON: Number "
        if case .decoding(let field, let message) = error, message.hasPrefix(prefix) {
            return .decoding(field: field, message: prefix + "…")
        }
        return error
    }

    static func reference(_ bytes: [UInt8]) -> Outcome {
        outcome { () throws(ModelError) in try TandemJSON.decode(RawInteraction.self, from: bytes) }
    }

    static func fast(_ decoder: FastJSONDecoder, _ bytes: [UInt8]) -> Outcome {
        outcome { () throws(ModelError) in try decoder.decodeRawInteraction(bytes) }
    }

    /// Checks one payload; returns whether the fast walk decided it (no fallback).
    @discardableResult
    static func check(
        _ decoder: FastJSONDecoder,
        _ bytes: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let before = decoder.fallbackCount
        let fast = fast(decoder, bytes)
        let reference = reference(bytes)
        #expect(
            fast == reference,
            "payload \(String(decoding: bytes, as: UTF8.self).debugDescription)",
            sourceLocation: sourceLocation
        )
        return decoder.fallbackCount == before
    }

    @Test func everyFixtureDecodesAsTheReferenceDoes() throws {
        let decoder = FastJSONDecoder()
        let directory = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let urls = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
        #expect(urls.count >= 11)
        for url in urls {
            let bytes = Array(try Data(contentsOf: url))
            let decided = Self.check(decoder, bytes)
            if url.lastPathComponent.hasPrefix("raw-interaction") {
                #expect(decided, "\(url.lastPathComponent) should not need the reference")
            }
        }
    }

    @Test func theFullFixtureIsRead() throws {
        let raw = try FastJSONDecoder().decodeRawInteraction(try fixture("raw-interaction-full"))
        #expect(raw.text == "客户说：\"套餐太贵了\" 😀\n路径 a/b \\ café 🚀")
        #expect(raw.attributes == ["crmTicket": "TK-1", "语言": "中文"])
        #expect(raw.occurredAt == utc(2026, 11, 25, 8, 30, 0, ms: 123))
        #expect(raw.handleSeconds == 310)
    }

    /// Cases the fast walk must decide by itself, identically.
    static let fastCases: [String] = [
        #"{}"#,
        #" {"eventId":"e"} "#,
        "{\n\t\"eventId\" : \"e\" ,\r\n \"csat\" : 5 }\n",
        #"{"eventId":"\u0065\u00e9\u4e2d\ud83d\ude80\/\\\"\b\f\n\r\t\u0000\u001f"}"#,
        #"{"text":"中文 😀 𝄞 \ud834\udd1e café"}"#,
        #"{"waitSeconds":1e2,"handleSeconds":1.5E-3,"sentiment":-0.0}"#,
        #"{"waitSeconds":-0,"handleSeconds":99999999999999999999,"sentiment":1e-310}"#,
        #"{"waitSeconds":5e-324,"handleSeconds":1.7976931348623157e308,"sentiment":0e-400}"#,
        #"{"transfers":1.0,"csat":1e0,"effort":1E+0,"nps":-0.0,"reach":9007199254740991}"#,
        #"{"transfers":1e-400,"csat":1.0000000000000001,"reach":9223372036854775807}"#,
        #"{"reach":-9223372036854775808,"transfers":1.5e1}"#,
        #"{"eventId":"first","eventId":"second","csat":null,"csat":5}"#,
        #"{"eventId":"first","eventId":7}"#,
        #"{"eventId":null,"occurredAt":null,"signals":null,"attributes":null,"answered":null}"#,
        #"{"signals":[],"attributes":{}}"#,
        #"{"attributes":{"k":"1","k":"2","é":"a","é":"b"}}"#,
        #"{"\u0065ventId":"escaped key","futureField":{"nested":[1,2.5e-3,{"a":[true,false,null]}],"s":"\u00e9"}}"#,
        #"{"occurredAt":"2026-11-25t08:30:00.1z"}"#,
        #"{"occurredAt":"2024-02-29T23:59:59.999999-12:59"}"#,
        #"{"occurredAt":"0001-01-01T00:00:00+00:01"}"#,
        #"{"occurredAt":"9999-12-31T23:59:59.999Z"}"#,
        #"{"answered":true,"resolved":false,"text":""}"#,
    ]

    @Test(arguments: fastCases)
    func decidedByTheFastWalk(_ text: String) {
        let decoder = FastJSONDecoder()
        #expect(Self.check(decoder, Array(text.utf8)), "fell back to the reference")
    }

    /// Cases where the reference must be asked (errors, and Foundation's leniencies).
    static let otherCases: [String] = [
        "", " ", "null", "true", "1", #""x""#, "[1,2]", "{", "}", #"{"eventId":"e""#, "{} x", "{},", "{}}",
        #"{"eventId":7}"#, #"{"csat":"5"}"#, #"{"answered":"yes"}"#, #"{"sentiment":true}"#,
        #"{"signals":"churn_threat"}"#, #"{"signals":["a",2]}"#, #"{"signals":["a",null]}"#,
        #"{"attributes":{"k":1}}"#, #"{"attributes":{"k":null}}"#, #"{"attributes":[]}"#,
        #"{"attributes":{"k":"1","k":2}}"#,
        #"{"occurredAt":1732523400}"#, #"{"occurredAt":"yesterday"}"#, #"{"occurredAt":"2023-02-29T00:00:00Z"}"#,
        #"{"occurredAt":"2026-11-25T08:30:60Z"}"#, #"{"occurredAt":"0000-01-01T00:00:00Z"}"#,
        #"{"occurredAt":"2026-11-25T08:30:00"}"#, #"{"occurredAt":"2026-11-25T08:30:00.Z"}"#,
        #"{"eventId":"e","sentiment":1e400}"#, #"{"eventId":"e","waitSeconds":-1e400}"#,
        #"{"sentiment":1e-400}"#, #"{"sentiment":2e-324}"#, #"{"sentiment":1.797693134862316e308}"#,
        #"{"eventId":"e","transfers":99999999999999999999}"#, #"{"eventId":"e","csat":4.5}"#,
        #"{"sentiment":0.5,"csat":4.5}"#, #"{"transfers":9223372036854775808}"#,
        #"{"transfers":-9223372036854775809}"#, #"{"reach":9007199254740993.0}"#, #"{"reach":9.007199254740993e15}"#,
        #"{"reach":-9223372036854775808.0}"#, #"{"reach":10000000000000000000000e-3}"#,
        #"{"csat":01}"#, #"{"csat":1.}"#, #"{"csat":.5}"#, #"{"csat":+1}"#, #"{"csat":-}"#, #"{"csat":1x}"#,
        #"{"eventId":"a","x":01}"#, #"{"eventId":"a","x":1e400}"#, #"{"eventId":"a","x":-}"#,
        #"{"eventId":"a","x":"\q"}"#, #"{"eventId":"a","x":"\ud800"}"#, #"{"\ud800":1}"#,
        #"{"eventId":"\ud800"}"#, #"{"eventId":"\udc00x"}"#, #"{"eventId":"\ud83dx"}"#, #"{"eventId":"\x"}"#,
        "{\"eventId\":\"a\tb\"}", "{\"eventId\":\"a\u{1}b\"}", "{\"eventId\":\"a\u{7F}b\"}",
        #"{"eventId":"a",}"#, #"{"signals":["a",]}"#, #"{"attributes":{"a":"b",}}"#, #"{"x":[1,],"eventId":"a"}"#,
        #"{,}"#, #"{"eventId":"a",,}"#, #"{"eventId" "a"}"#, #"{"eventId":"a" "csat":1}"#,
        "\u{FEFF}{\"eventId\":\"bom\"}", #"{"x":tru}"#, #"{"x":nul}"#, #"{"answered":tru}"#, #"{"csat":nul}"#,
        #"{"answered":1}"#, #"{"eventId":["a"]}"#, #"{"eventId":{"a":"b"}}"#,
    ]

    @Test(arguments: otherCases)
    func sameVerdictAsTheReference(_ text: String) {
        Self.check(FastJSONDecoder(), Array(text.utf8))
    }

    @Test func invalidUTF8IsTheReferencesError() {
        let decoder = FastJSONDecoder()
        for bytes: [UInt8] in [
            Array(#"{"eventId":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8),
            Array(#"{"x":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#"","eventId":"a"}"#.utf8),
            Array(#"{"x":""#.utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(#""}"#.utf8),
            Array(#"{"x":""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8),
            [0xFF, 0xFE],
        ] {
            Self.check(decoder, bytes)
        }
    }

    @Test func depthBombsAreRefusedLikeTheReference() {
        let decoder = FastJSONDecoder()
        for depth in [100, 255, 256, 510, 511, 512, 600, 100_000] {
            Self.check(
                decoder,
                Array(
                    (#"{"x":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}").utf8
                )
            )
        }
        Self.check(
            decoder,
            Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
        )
        let deepObject =
            #"{"attributes":"# + String(repeating: #"{"a":"#, count: 10_000) + "1"
            + String(repeating: "}", count: 10_001)
        Self.check(decoder, Array(deepObject.utf8))
    }

    @Test func aLargeTextIsRead() {
        let decoder = FastJSONDecoder()
        let text = String(repeating: "长文本 with \\\"escapes\\\" ", count: 5000)
        #expect(Self.check(decoder, Array(#"{"eventId":"big","text":"\#(text)"}"#.utf8)))
        // The buffer grows and shrinks back to small documents without trouble.
        #expect(Self.check(decoder, Array(#"{"eventId":"small"}"#.utf8)))
    }

    /// 6,000 generated records in shapes the fast walk must decide by itself, and 6,000 mutated
    /// ones (byte flips, deletions, insertions, truncations) where only the verdict must match.
    @Test func generatedAndMutatedRecords() {
        var generator = RecordGenerator(seed: 0x7A4D_E1_2026)
        let decoder = FastJSONDecoder()
        var undecided: [String] = []
        var accepted = 0
        for _ in 0..<6000 {
            let text = generator.record(exotic: false)
            let bytes = Array(text.utf8)
            if !Self.check(decoder, bytes) { undecided.append(text + " => " + Self.reference(bytes).description) }
        }
        #expect(undecided.count == 0, "the fast walk fell back on clean records, e.g. \(undecided.prefix(3))")

        for round in 0..<6000 {
            var bytes = Array(generator.record(exotic: round % 2 == 0).utf8)
            generator.mutate(&bytes)
            Self.check(decoder, bytes)
            if case .record = Self.reference(bytes) { accepted += 1 }
        }
        // The mutations must leave enough records decodable to exercise both sides.
        #expect(accepted > 1000, "only \(accepted) mutated records decode")
    }
}

/// A seeded generator of RawInteraction JSON texts (SplitMix64: reproducible everywhere).
struct RecordGenerator {
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }

    static let stringFields = [
        "eventId", "channel", "kind", "customerId", "department", "topic", "queue", "teamId", "agentId", "refersTo",
        "brand", "campaignId", "text",
    ]
    static let intFields = ["transfers", "csat", "effort", "nps", "reach"]
    static let doubleFields = ["waitSeconds", "handleSeconds", "sentiment"]
    static let boolFields = ["answered", "resolved"]
    static let allFields =
        stringFields + intFields + doubleFields + boolFields + ["occurredAt", "signals", "attributes"]

    /// A JSON text: `exotic` adds wrong types, odd numbers, bad timestamps and Foundation's leniencies.
    mutating func record(exotic: Bool) -> String {
        var members: [String] = []
        for field in Self.allFields.shuffled(using: &self) where chance(55) {
            members.append(member(field, exotic: exotic))
            if chance(4) { members.append(member(field, exotic: exotic)) }  // a repeated key
        }
        for _ in 0..<int(0..<3) where chance(30) {
            members.append(
                ws() + quoted(pick(["futureField", "x", "schemaVersion", "中文键", "event_id"])) + ws() + ":" + ws()
                    + any(depth: 0)
            )
        }
        members.shuffle(using: &self)
        var text = ws() + "{" + members.joined(separator: ",") + (members.isEmpty ? ws() : "") + "}" + ws()
        if exotic && chance(10) {
            text = pick(["\u{FEFF}", " ", ""]) + text + pick(["", ",", " x", "{}", "\n"])
        }
        if exotic && chance(10), let close = text.lastIndex(of: "}") { text.insert(",", at: close) }
        return text
    }

    private mutating func member(_ field: String, exotic: Bool) -> String {
        let key =
            chance(3) ? "\"\\u00" + String(field.utf8.first!, radix: 16) + field.dropFirst() + "\"" : quoted(field)
        return ws() + key + ws() + ":" + ws() + value(field, exotic: exotic) + ws()
    }

    private mutating func value(_ field: String, exotic: Bool) -> String {
        if chance(5) { return "null" }
        if exotic && chance(12) { return any(depth: 1) }  // very likely the wrong type
        switch field {
        case "occurredAt": return timestamp(exotic: exotic)
        case "signals": return "[" + (0..<int(0..<4)).map { _ in ws() + string() + ws() }.joined(separator: ",") + "]"
        case "attributes":
            return "{"
                + (0..<int(0..<4)).map { _ in ws() + string() + ws() + ":" + ws() + string() }.joined(separator: ",")
                + "}"
        case _ where Self.intFields.contains(field): return integer(exotic: exotic)
        case _ where Self.doubleFields.contains(field): return double(exotic: exotic)
        case _ where Self.boolFields.contains(field): return pick(["true", "false"])
        default: return exotic && chance(5) ? badString() : string()
        }
    }

    mutating func ws() -> String {
        guard chance(15) else { return "" }
        return String((0..<int(1..<3)).map { _ in pick([" ", "\n", "\t", "\r"]) })
    }

    func quoted(_ text: String) -> String { "\"" + text + "\"" }

    /// A valid JSON string literal: ASCII, Chinese, emoji, raw or escaped.
    mutating func string() -> String {
        var out = "\""
        for _ in 0..<int(0..<12) {
            switch int(0..<14) {
            case 0: out += pick(["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"])
            case 1: out += String(format: "\\u%04x", int(0..<0x20))
            case 2: out += String(format: "\\u%04X", int(0x20..<0xD800))
            case 3: out += pick(["\\ud83d\\ude80", "\\uD83D\\uDE00", "\\ud834\\udd1e", "\\uDBFF\\uDFFF"])
            case 4: out += pick(["中", "文", "客户", "套餐", "微信"])
            case 5: out += pick(["😀", "🚀", "📶", "❌", "👩‍👩‍👧"])
            case 6: out += pick(["é", "e\u{301}", "ß", "ǅ", "\u{7F}", "\u{2028}", "\u{FFFD}"])
            default:
                // Printable ASCII, but not the two characters that need escaping.
                let byte = UInt8(int(0x20..<0x7F))
                out += byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") ? "_" : String(UnicodeScalar(byte))
            }
        }
        return out + "\""
    }

    private mutating func badString() -> String {
        pick([#""\ud800""#, #""\udc00\ud800""#, #""\q""#, "\"a\tb\"", #""\u12""#, "\"\u{1}\"", #""\ud83d\u0041""#])
    }

    mutating func integer(exotic: Bool) -> String {
        var options = [
            String(int(0..<6)), String(int(-1000..<1000)), String(Int(bitPattern: UInt(next() >> UInt64(int(1..<64))))),
            "1.0", "1e2", "1E+2", "150e-1", "-0", "-0.0", "0.0e5", "9007199254740991", "-9007199254740991",
            "9223372036854775807", "-9223372036854775808", "1e-400", "4.0000000000000001", "2.5e1",
        ]
        if exotic {
            options += [
                "4.5", "99999999999999999999", "9223372036854775808", "1e400", "9007199254740993.0", "1e19", "01", "1.",
                ".5", "+1", "-", "1e", "0x10", "1x", "\"5\"", "true",
            ]
        }
        return pick(options)
    }

    mutating func double(exotic: Bool) -> String {
        var options = [
            String(int(0..<600)), Double(bitPattern: next() & 0x7FEF_FFFF_FFFF_FFFF).description,
            String(Double(int(-1000..<1000)) / 8), "1e2", "1.5E-3", "-0.0", "-0", "42.5", "310",
            "99999999999999999999", "1e-310", "5e-324", "0e-400", "1.7976931348623157e308", "0.1", "-0.75",
            "123456789.123456789e-5", String(format: "%.17g", Double(int(0..<1_000_000)) / 7),
        ]
        if exotic {
            options += ["1e400", "-1e400", "1e-400", "2e-324", "1.797693134862316e308", "01", "1.", "NaN", "\"1\""]
        }
        return pick(options).replacingOccurrences(of: "inf", with: "1")
    }

    mutating func timestamp(exotic: Bool) -> String {
        let year = pick([1, 1970, 2000, 2024, 2026, 9999, int(1..<10_000)])
        let month = exotic && chance(10) ? int(0..<14) : int(1..<13)
        let day = exotic && chance(10) ? int(0..<33) : int(1..<29) + (chance(20) ? 1 : 0)
        let hour = exotic && chance(5) ? 24 : int(0..<24)
        let minute = int(0..<60)
        let second = exotic && chance(5) ? 60 : int(0..<60)
        var text =
            String(format: "%04d-%02d-%02d", year, month, day) + pick(["T", "t"])
            + String(format: "%02d:%02d:%02d", hour, minute, second)
        if chance(60) {
            text += "." + String((0..<int(exotic ? 0..<10 : 1..<10)).map { _ in pick(Array("0123456789")) })
        }
        if chance(60) {
            text += pick(["Z", "z"])
        } else {
            text += pick(["+", "-"]) + String(format: "%02d:%02d", int(0..<24), int(0..<60))
        }
        if exotic && chance(10) {
            text = pick(["yesterday", "2026-11-25", "2026-11-25T08:30:00", String(text.dropLast())])
        }
        // 9999-12-31 with a negative offset is after year 9999: still a valid parse for Timestamp.
        return "\"" + text + "\""
    }

    /// Any well-formed JSON value (for unknown fields and wrong types).
    mutating func any(depth: Int) -> String {
        switch int(0..<(depth > 3 ? 5 : 7)) {
        case 0: return "null"
        case 1: return pick(["true", "false"])
        case 2: return integer(exotic: false)
        case 3: return double(exotic: false)
        case 4: return string()
        case 5:
            return "[" + (0..<int(0..<4)).map { _ in ws() + any(depth: depth + 1) + ws() }.joined(separator: ",") + "]"
        default:
            return "{"
                + (0..<int(0..<4)).map { _ in string() + ":" + ws() + any(depth: depth + 1) }.joined(separator: ",")
                + "}"
        }
    }

    /// Damages a text: byte flips, deletions, insertions of JSON punctuation or UTF-8 fragments,
    /// or a truncation.
    mutating func mutate(_ bytes: inout [UInt8]) {
        for _ in 0..<int(1..<3) {
            guard !bytes.isEmpty else { return }
            let at = int(0..<bytes.count)
            switch int(0..<7) {
            case 5, 6:
                // A letter or digit for a letter or digit: often still valid, with a changed value.
                let alphanumerics = Array("0123456789eEaz".utf8)
                if alphanumerics.contains(bytes[at]) { bytes[at] = pick(alphanumerics) }
            case 0: bytes[at] = UInt8(truncatingIfNeeded: next())
            case 1: bytes.remove(at: at)
            case 2: bytes.insert(pick(Array("{}[]\",:\\ 0-.eE1tfn".utf8) + [0x80, 0xC3, 0xE4, 0xF0, 0x00]), at: at)
            case 3: bytes.removeSubrange(at...)
            default: bytes[at] ^= UInt8(1 << int(0..<8))
            }
        }
    }
}

extension RecordGenerator: RandomNumberGenerator {}
