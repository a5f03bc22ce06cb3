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

    @Test func aBillsUsageIsNotRead() throws {
        let decoder = FastAccountEventDecoder()
        let payload = Array(
            #"{"type":"bill","customerId":"C-1","at":"2026-11-25T08:00:00Z","period":"2026-10","amount":1,"usage":{"dataMB":2048}}"#
                .utf8
        )
        let event = try payload.withUnsafeBytes { try decoder.decode($0) }
        #expect(event == .bill(.init(customerId: "C-1", at: utc(2026, 11, 25, 8), period: "2026-10", amount: 1)))
        #expect(decoder.fallbackCount == 0)
    }
}
