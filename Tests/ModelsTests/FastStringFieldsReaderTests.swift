import Foundation
import Models
import Testing

/// The few-fields reader answers exactly as Foundation's decoder does, or not at all.
@Suite("fast string fields reader")
struct FastStringFieldsReaderTests {
    struct Reference: Decodable, Equatable {
        var customerId: String
        var tier: String?
    }

    static let segment = #"""
        {"customerId":"c-0042","tier":"high","scores":{"value":81.5,"churn":0.12,"nested":{"a":[1,2,{"b":null}]}},
        "tags":["家庭","vip"],"tierChangedAt":"2026-11-25T08:00:00Z","plan":"5G-199","note":"a \"quoted\" \u00e9 text",
        "products":[{"id":"p1","since":"2024-01-01"}],"optIn":true,"count":3}
        """#

    /// The reader's answer, checked against the reference decoder's for the same bytes.
    func check(_ payload: [UInt8], _ reader: FastStringFieldsReader) -> Bool {
        let reference = try? TandemJSON.decoder().decode(Reference.self, from: Data(payload))
        let fast = payload.withUnsafeBytes { reader.read($0) }
        guard let fast, let customerId = fast[0] else { return true }  // no answer: the reference decides
        return reference == Reference(customerId: customerId, tier: fast[1])
    }

    @Test func readsTheFieldsOfALargeRecordAsTheReferenceDoes() throws {
        let reader = FastStringFieldsReader(fields: ["customerId", "tier"])
        let values = Array(Self.segment.utf8).withUnsafeBytes { reader.read($0) }
        #expect(values == ["c-0042", "high"])
        let absent = Array(#"{"customerId":"c1","x":[{}]}"#.utf8).withUnsafeBytes { reader.read($0) }
        #expect(absent == ["c1", nil])
        let null = Array(#"{"tier":null,"customerId":"\u4e2d"}"#.utf8).withUnsafeBytes { reader.read($0) }
        #expect(null == ["中", nil])
    }

    @Test(arguments: [
        "", "null", "[]", "42", #""text""#, "{", #"{"customerId":1}"#, #"{"customerId":"c","tier":2}"#,
        #"{"customerId":"c","tier":{"a":1}}"#, #"{"customerId":"c"} trailing"#, #"{"customerId":"c",}"#,
        #"{"customerId":"c","x":[1,2,}"#, "\u{FEFF}{\"customerId\":\"c\"}",
    ])
    func refusesWhatItCannotProveAndNeverDisagrees(payload: String) {
        let reader = FastStringFieldsReader(fields: ["customerId", "tier"])
        #expect(check(Array(payload.utf8), reader))
    }

    @Test func tenThousandMutationsNeverDisagreeWithTheReference() {
        let reader = FastStringFieldsReader(fields: ["customerId", "tier"])
        var generator = SystemRandomNumberGenerator()
        let base = Array(Self.segment.utf8)
        let alphabet = Array(#"{}[]",:0123456789 -.etrufalsnc\"#.utf8) + [0xC3, 0xFF, 0x00]
        var answered = 0
        for _ in 0..<10_000 {
            var payload = base
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<payload.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: payload[position] = alphabet.randomElement(using: &generator)!
                case 1: payload.remove(at: position)
                default: payload.insert(alphabet.randomElement(using: &generator)!, at: position)
                }
            }
            #expect(check(payload, reader), "\(String(decoding: payload, as: UTF8.self))")
            if payload.withUnsafeBytes({ reader.read($0) }) != nil { answered += 1 }
        }
        #expect(answered > 100, "the fast walk answers for the mutations that stay valid")
    }
}
