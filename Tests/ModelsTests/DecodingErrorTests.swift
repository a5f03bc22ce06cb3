import Foundation
import Models
import Testing

/// Whatever the bytes, decoding returns a record or a `ModelError.decoding` — it never traps.
@Suite("decoding errors")
struct DecodingErrorTests {
    private func field(_ error: ModelError?) -> String? {
        if case .decoding(let field, _) = error { return field }
        return nil
    }

    private func message(_ error: ModelError?) -> String? {
        if case .decoding(_, let message) = error { return message }
        return nil
    }

    @Test func invalidUTF8() {
        let bytes: [UInt8] = Array(#"{"eventId":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let error = decodingError(RawInteraction.self, bytes)
        #expect(error == .decoding(field: "", message: "payload is not valid UTF-8"))
        #expect(error?.reason == "undecodable")
    }

    @Test func garbageBytes() {
        let garbage: [UInt8] = [0x00, 0x01, 0x7F, 0x20, 0x3C, 0x3E, 0x7B]
        #expect(message(decodingError(RawInteraction.self, garbage))?.hasPrefix("payload is not valid JSON") == true)
        #expect(
            message(decodingError(Lead.self, Array("not json at all".utf8)))?.hasPrefix("payload is not valid JSON")
                == true
        )
        #expect(message(decodingError(Product.self, [UInt8]()))?.hasPrefix("payload is not valid JSON") == true)
        #expect(
            message(decodingError(AccountEvent.self, Array(#"{"type":"bill","#.utf8)))?.hasPrefix(
                "payload is not valid JSON"
            ) == true
        )
    }

    @Test func pseudoRandomBytesNeverTrap() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for length in 0..<200 {
            var bytes: [UInt8] = []
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(UInt8(truncatingIfNeeded: state >> 56))
            }
            #expect(decodingError(RawInteraction.self, bytes) != nil || bytes.first == UInt8(ascii: "{"))
            _ = decodingError(AccountEvent.self, bytes)
            _ = decodingError(DeadLetter.self, bytes)
        }
    }

    @Test func anArrayInsteadOfAnObject() {
        #expect(
            decodingError(RawInteraction.self, "[1,2]")
                == .decoding(field: "", message: "expected a JSON object, found an array")
        )
    }

    @Test func aNumberInsteadOfAnObject() {
        #expect(field(decodingError(Product.self, "42")) == "")
        #expect(message(decodingError(Product.self, "42"))?.hasPrefix("expected a JSON object") == true)
    }

    @Test func aStringInsteadOfAnObject() {
        #expect(
            decodingError(Lead.self, #""lead""#)
                == .decoding(field: "", message: "expected a JSON object, found a string")
        )
    }

    @Test func nullInsteadOfAnObject() {
        #expect(decodingError(LeadOutcome.self, "null") != nil)
    }

    @Test func wrongTypesNameTheirField() {
        #expect(
            decodingError(RawInteraction.self, #"{"eventId":7}"#)
                == .decoding(field: "eventId", message: "expected a string")
        )
        #expect(
            decodingError(RawInteraction.self, #"{"csat":"5"}"#)
                == .decoding(field: "csat", message: "expected an integer")
        )
        #expect(
            decodingError(RawInteraction.self, #"{"answered":"yes"}"#)
                == .decoding(field: "answered", message: "expected a boolean")
        )
        #expect(
            decodingError(RawInteraction.self, #"{"sentiment":true}"#)
                == .decoding(field: "sentiment", message: "expected a number")
        )
        #expect(
            decodingError(RawInteraction.self, #"{"signals":"churn_threat"}"#)
                == .decoding(field: "signals", message: "expected an array")
        )
        #expect(
            decodingError(RawInteraction.self, #"{"signals":["a",2]}"#)
                == .decoding(field: "signals[1]", message: "expected a string")
        )
        #expect(field(decodingError(RawInteraction.self, #"{"attributes":{"k":1}}"#)) == "attributes.k")
        #expect(field(decodingError(RawInteraction.self, #"{"occurredAt":1732523400}"#)) == "occurredAt")
        #expect(field(decodingError(RawInteraction.self, #"{"occurredAt":"yesterday"}"#)) == "occurredAt")
    }

    @Test func nullForARequiredField() {
        let json = #"{"leadId":null,"customerId":"c","at":"2026-11-25T08:00:00Z","outcome":"declined"}"#
        #expect(field(decodingError(LeadOutcome.self, json)) == "leadId")
    }

    @Test func nullForAnOptionalFieldIsAbsent() throws {
        let raw = try TandemJSON.decode(RawInteraction.self, from: #"{"eventId":"e","csat":null}"#)
        #expect(raw.csat == nil)
    }

    @Test func hugeNumbersAreErrors() {
        let error = decodingError(RawInteraction.self, #"{"eventId":"e","sentiment":1e400}"#)
        #expect(field(error) == "")
        #expect(message(error)?.contains("1e400") == true)
        #expect(decodingError(RawInteraction.self, #"{"eventId":"e","waitSeconds":-1e400}"#) != nil)
    }

    @Test func integersThatDoNotFitNameTheirField() {
        #expect(
            decodingError(RawInteraction.self, #"{"eventId":"e","transfers":99999999999999999999}"#)
                == .decoding(
                    field: "transfers",
                    message: "a number does not fit its field (too large, or a fraction where an integer is required)"
                )
        )
        #expect(field(decodingError(RawInteraction.self, #"{"eventId":"e","csat":4.5}"#)) == "csat")
        // Two candidates: the field cannot be told, the error is still an error.
        #expect(field(decodingError(RawInteraction.self, #"{"sentiment":0.5,"csat":4.5}"#)) == "")
        #expect(decodingError(DeadLetter.self, #"{"sourcePartition":4294967296}"#) != nil)
    }

    @Test func deepNestingIsAnError() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(decodingError(RawInteraction.self, deep) != nil)
        let deepObject =
            #"{"attributes":"# + String(repeating: #"{"a":"#, count: 10_000) + "1"
            + String(repeating: "}", count: 10_001)
        #expect(decodingError(RawInteraction.self, deepObject) != nil)
    }

    @Test func errorsDescribeThemselves() {
        #expect(
            ModelError.decoding(field: "csat", message: "expected an integer").description
                == "csat: expected an integer"
        )
        let invalid = ModelError.invalid([
            ValidationError(field: "csat", rule: "range", value: "9", message: "must be between 1 and 5")
        ])
        #expect(invalid.description == "csat: must be between 1 and 5 [range]")
        #expect(invalid.reason == "invalid")
    }

    @Test func encodingANonFiniteNumberIsAnError() {
        var raw = validRaw()
        raw.sentiment = .nan
        #expect(throws: ModelError.self) { try TandemJSON.encode(raw) }
    }
}
