import Foundation
import Models
import Testing

@Suite("DeadLetter")
struct DeadLetterTests {
    private func letter(key: [UInt8]?, payload: [UInt8]?) -> DeadLetter {
        DeadLetter(
            service: "intake",
            reason: "undecodable",
            message: "payload is not valid JSON",
            sourceTopic: "cs.interactions.raw",
            sourcePartition: 3,
            sourceOffset: 42,
            originalKey: key,
            originalPayload: payload,
            at: utc(2026, 11, 25, 8, 30, 0, ms: 123)
        )
    }

    @Test func textPayloadStaysText() throws {
        let dl = letter(key: Array("C-1".utf8), payload: Array("{\"eventId\": 微信".utf8))
        #expect(dl.key == "C-1" && dl.keyEncoding == .utf8)
        #expect(dl.payload == "{\"eventId\": 微信" && dl.payloadEncoding == .utf8)
        #expect(dl.originalPayload == Array("{\"eventId\": 微信".utf8))
        #expect(dl.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(dl) == dl)
    }

    @Test func binaryPayloadBecomesBase64() throws {
        let dl = letter(key: [0x80], payload: [0xFF, 0x00, 0x7B])
        #expect(dl.payload == "/wB7" && dl.payloadEncoding == .base64)
        #expect(dl.key == "gA==" && dl.keyEncoding == .base64)
        #expect(dl.originalPayload == [0xFF, 0x00, 0x7B])
        #expect(dl.originalKey == [0x80])
        #expect(try roundTrip(dl) == dl)
    }

    @Test func tombstoneWithoutKey() throws {
        let dl = letter(key: nil, payload: nil)
        #expect(dl.key == nil && dl.keyEncoding == nil && dl.payload == nil && dl.payloadEncoding == .utf8)
        let object = try jsonObject(dl)
        #expect(
            Set(object.keys) == [
                "service", "reason", "message", "sourceTopic", "sourcePartition", "sourceOffset", "payloadEncoding",
                "at",
            ]
        )
        #expect(object["at"] as? String == "2026-11-25T08:30:00.123Z")
        #expect(dl.validationErrors(now: now).isEmpty)
    }

    @Test func emptyPayloadIsEmptyText() {
        let dl = letter(key: [], payload: [])
        #expect(dl.payload == "" && dl.payloadEncoding == .utf8 && dl.key == "")
    }

    @Test func decodesTheFixture() throws {
        let dl = try TandemJSON.decode(DeadLetter.self, from: try fixture("dead-letter-base64"))
        #expect(dl.sourceOffset == 9_007_199_254_740_991)
        #expect(dl.sourcePartition == 3)
        #expect(dl.originalPayload == [0xFF, 0x00, 0x7B])
        #expect(dl.originalKey == Array("C-1".utf8))
        #expect(dl.at == utc(2026, 11, 25, 8, 30, 0, ms: 123))
        #expect(try roundTrip(dl) == dl)
    }

    @Test func validationRules() {
        var dl = letter(key: nil, payload: nil)
        dl.service = ""
        dl.reason = ""
        dl.sourceTopic = ""
        dl.sourcePartition = -2
        dl.sourceOffset = -2
        dl.keyEncoding = .utf8
        #expect(
            rules(dl.validationErrors(now: now)) == [
                "service:required", "reason:required", "sourceTopic:required", "sourcePartition:range",
                "sourceOffset:range", "keyEncoding:consistency",
            ]
        )
    }
}
