import Foundation
import Models
import Testing

@Suite("FastAccountEventDecoder")
struct FastAccountEventDecoderTests {
    static let payloads: [String] = [
        #"{"type":"profile","customerId":"C-1","at":"2026-11-25T08:00:00.000Z","region":"310000","joinedAt":"2020-01-15T00:00:00Z","creditScore":71.5,"influence":40,"points":2400,"marketingConsent":true,"planId":"P-99"}"#,
        #"{"type":"profile","customerId":"C-1","at":"2026-11-25T08:00:00Z","region":null,"points":null}"#,
        #"{"type":"bill","customerId":"C-1","at":"2026-11-25T08:00:00Z","period":"2026-10","amount":182.4}"#,
        #"{"type":"purchase","customerId":"C-1","at":"2026-11-25T08:00:00Z","amount":99,"productId":"P-ROAM","extra":[1,{"a":2}]}"#,
        // The reference decides these: errors, and shapes the fast walk refuses.
        #"{"type":"refund","customerId":"C-1","at":"2026-11-25T08:00:00Z"}"#,
        #"{"type":"bill","customerId":"C-1","at":"2026-11-25T08:00:00Z","period":"2026-10"}"#,
        #"{"type":"bill","customerId":"C-1","at":"yesterday","period":"2026-10","amount":1}"#,
        #"{"type":"profile","customerId":42,"at":"2026-11-25T08:00:00Z"}"#,
        #"{"type":"profile","customerId":"C-1","at":"2026-11-25T08:00:00Z","points":1.5}"#,
        "not json",
        "[]",
    ]

    @Test(arguments: payloads)
    func decodesWhatTandemJSONDecodes(payload: String) {
        let decoder = FastAccountEventDecoder()
        let bytes = Array(payload.utf8)
        let fast = bytes.withUnsafeBytes { buffer in Result { () throws(ModelError) in try decoder.decode(buffer) } }
        let reference = Result { () throws(ModelError) in try TandemJSON.decode(AccountEvent.self, from: bytes) }
        #expect(fast == reference)
    }

    @Test func aBillsUsageIsReadAsFoundationReadsIt() throws {
        let decoder = FastAccountEventDecoder()
        let payload = Array(
            #"{"type":"bill","customerId":"C-1","at":"2026-11-25T08:00:00Z","period":"2026-10","amount":1,"usage":{"dataMB":2048,"voice\u004dinutes":310.5,"dataMB":1}}"#
                .utf8
        )
        let event = try payload.withUnsafeBytes { try decoder.decode($0) }
        let usage = ["dataMB": 2048.0, "voiceMinutes": 310.5]
        #expect(
            event
                == .bill(.init(customerId: "C-1", at: utc(2026, 11, 25, 8), period: "2026-10", amount: 1, usage: usage))
        )
        #expect(decoder.fallbackCount == 0)
    }

    /// 4,000 generated bills whose usage maps the fast walk must read by itself, and 4,000 mutated
    /// ones where only the verdict must match.
    @Test func generatedAndMutatedBills() {
        var generator = RecordGenerator(seed: 0xB111_2026)
        let decoder = FastAccountEventDecoder()
        func bill(exotic: Bool) -> String {
            var members = [
                #""type":"bill""#, #""customerId":\#(generator.string())"#,
                #""at":\#(generator.timestamp(exotic: exotic))"#,
                #""period":"2026-10""#, #""amount":\#(generator.double(exotic: exotic))"#,
            ]
            if generator.chance(90) {
                let entries = (0..<generator.int(0..<5)).map { _ in
                    generator.ws() + generator.pick([generator.string(), #""dataMB""#, #""voiceMinutes""#]) + ":"
                        + generator.ws()
                        + (exotic && generator.chance(10) ? generator.any(depth: 2) : generator.double(exotic: exotic))
                }
                members.append(#""usage":{"# + entries.joined(separator: ",") + "}")
            }
            if exotic && generator.chance(10) { members.append(#""usage":null"#) }
            members.shuffle(using: &generator)
            return "{" + members.joined(separator: ",") + "}"
        }
        // When the fast walk answers, its event is the reference's. (When it does not, the
        // reference itself decodes, so its error is the reference's by construction; which of
        // two bad usage entries Foundation names varies with dictionary order.)
        func agrees(_ bytes: [UInt8]) -> Bool {
            guard let fast = bytes.withUnsafeBytes({ decoder.read($0) }) else { return true }
            return (try? TandemJSON.decode(AccountEvent.self, from: bytes)) == fast
        }
        var disagreements: [String] = []
        var fellBack: [String] = []
        for _ in 0..<4000 {
            let bytes = Array(bill(exotic: false).utf8)
            if !agrees(bytes) { disagreements.append(String(decoding: bytes, as: UTF8.self)) }
            // A clean bill Foundation accepts is one the fast walk reads by itself.
            if (try? TandemJSON.decode(AccountEvent.self, from: bytes)) != nil,
                bytes.withUnsafeBytes({ decoder.read($0) }) == nil
            {
                fellBack.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        #expect(fellBack.isEmpty, "clean bills fell back to Foundation, e.g. \(fellBack.prefix(3))")
        var accepted = 0
        for round in 0..<4000 {
            var bytes = Array(bill(exotic: round % 2 == 0).utf8)
            generator.mutate(&bytes)
            if !agrees(bytes) { disagreements.append(bytes.description) }
            if (try? TandemJSON.decode(AccountEvent.self, from: bytes)) != nil { accepted += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagree, e.g. \(disagreements.prefix(3))")
        #expect(accepted > 500, "only \(accepted) mutated bills decode")
    }
}
