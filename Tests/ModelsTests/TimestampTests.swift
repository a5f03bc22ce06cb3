import Foundation
import Models
import Testing

@Suite("timestamps")
struct TimestampTests {
    @Test func encodesUTCWithExactlyThreeFractionalDigits() {
        #expect(Timestamp.format(utc(2026, 11, 25, 8, 30, 0, ms: 123)) == "2026-11-25T08:30:00.123Z")
        #expect(Timestamp.format(utc(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z")
        #expect(Timestamp.format(utc(2024, 2, 29, 23, 59, 59, ms: 999)) == "2024-02-29T23:59:59.999Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        // Proleptic Gregorian, as RFC 3339 is (Foundation's calendar switches to Julian before 1582).
        #expect(Timestamp.format(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 253_402_300_799.999)) == "9999-12-31T23:59:59.999Z")
    }

    @Test func roundsToTheNearestMillisecond() {
        // 0.1235 s is not representable; 0.12349 rounds down, 0.12351 up.
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_795_595_400.12349)) == "2026-11-25T08:30:00.123Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_795_595_400.12351)) == "2026-11-25T08:30:00.124Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_795_595_400.9996)) == "2026-11-25T08:30:01.000Z")
    }

    @Test func refusesDatesItCannotWrite() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 253_402_300_800)) == nil)  // 10000-01-01
        #expect(Timestamp.format(Date(timeIntervalSince1970: -62_135_596_800.001)) == nil)
        #expect(Timestamp.format(Date(timeIntervalSince1970: .infinity)) == nil)
        #expect(Timestamp.format(Date(timeIntervalSince1970: .nan)) == nil)
        #expect(Timestamp.format(utc(10000, 1, 1)) == nil)
    }

    @Test(arguments: [
        ("2026-11-25T08:30:00.123Z", utc(2026, 11, 25, 8, 30, 0, ms: 123)),
        ("2026-11-25T08:30:00Z", utc(2026, 11, 25, 8, 30)),
        ("2026-11-25t08:30:00z", utc(2026, 11, 25, 8, 30)),
        ("2026-11-25T08:30:00.1Z", utc(2026, 11, 25, 8, 30, 0, ms: 100)),
        ("2026-11-25T08:30:00.12Z", utc(2026, 11, 25, 8, 30, 0, ms: 120)),
        ("2026-11-25T08:30:00.123456789Z", utc(2026, 11, 25, 8, 30, 0, ms: 123)),
        ("2026-11-25T16:30:00.123+08:00", utc(2026, 11, 25, 8, 30, 0, ms: 123)),
        ("2026-11-25T03:00:00-05:30", utc(2026, 11, 25, 8, 30)),
        ("2026-01-01T05:00:00+08:00", utc(2025, 12, 31, 21, 0)),
        ("2024-02-29T00:00:00+00:00", utc(2024, 2, 29)),
        ("1969-12-31T23:59:59.999Z", utc(1969, 12, 31, 23, 59, 59, ms: 999)),
    ])
    func parsesRFC3339(text: String, expected: Date) {
        #expect(Timestamp.parse(text) == expected)
    }

    @Test(arguments: [
        "", "2026-11-25", "2026-11-25T08:30:00", "2026-11-25 08:30:00Z", "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-25T24:00:00Z",
        "2026-11-25T08:60:00Z", "2026-11-25T08:30:60Z", "2026-11-25T08:30:00.Z", "2026-11-25T08:30:00+0800",
        "2026-11-25T08:30:00+24:00", "2026-11-25T08:30:00Z ", " 2026-11-25T08:30:00Z", "0000-01-01T00:00:00Z",
        "２０２６-11-25T08:30:00Z", "2026-11-25T08:30:00.123ZZ", "abcd-ef-ghTij:kl:mnZ",
    ])
    func rejectsWhatIsNotRFC3339(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func decodedDatesEncodeBackToTheCanonicalForm() throws {
        let product = try TandemJSON.decode(
            LeadOutcome.self,
            from: #"{"leadId":"l","customerId":"c","at":"2026-11-25T16:30:00.1+08:00","outcome":"contacted"}"#
        )
        #expect(try jsonObject(product)["at"] as? String == "2026-11-25T08:30:00.100Z")
    }

    @Test func aBadTimestampNamesItsField() {
        let error = decodingError(
            LeadOutcome.self,
            #"{"leadId":"l","customerId":"c","at":"25/11/2026","outcome":"contacted"}"#
        )
        guard case .decoding(let field, _) = error else {
            Issue.record("expected a decoding error, got \(String(describing: error))")
            return
        }
        #expect(field == "at")
    }

    @Test func anUnwritableDateIsAnEncodingError() {
        let outcome = LeadOutcome(
            leadId: "l",
            customerId: "c",
            at: Date(timeIntervalSince1970: 4e11),
            outcome: .contacted
        )
        #expect(throws: ModelError.self) { try TandemJSON.encode(outcome) }
    }
}
