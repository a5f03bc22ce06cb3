import Foundation
import Models
import Testing

/// A UTC date computed with Foundation's calendar (independently of `Timestamp`), then built from
/// whole milliseconds so that it is bit-identical to a decoded one.
func utc(
    _ year: Int,
    _ month: Int,
    _ day: Int,
    _ hour: Int = 0,
    _ minute: Int = 0,
    _ second: Int = 0,
    ms: Int = 0
)
    -> Date
{
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    let seconds = Int64(calendar.date(from: components)!.timeIntervalSince1970)
    return Date(timeIntervalSince1970: Double(seconds * 1000 + Int64(ms)) / 1000)
}

/// The bytes of a fixture in `Fixtures/`.
func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
    return Array(try Data(contentsOf: url))
}

/// `field:rule` for each validation error, the precise identity a test asserts on.
func rules(_ errors: [ValidationError]) -> [String] {
    errors.map { "\($0.field):\($0.rule)" }
}

/// The `field:rule` pairs a throwing call reports, or `["no error"]`.
func rulesThrown(_ body: () throws -> Void) -> [String] {
    do {
        try body()
        return ["no error"]
    } catch let error as ModelError {
        return rules(error.validationErrors)
    } catch {
        return ["unexpected \(error)"]
    }
}

/// The decoding error a payload gives, or `nil` if it decodes.
func decodingError<T: Decodable>(_ type: T.Type, _ text: String) -> ModelError? {
    decodingError(type, Array(text.utf8))
}

/// The decoding error a payload gives, or `nil` if it decodes.
func decodingError<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> ModelError? {
    do {
        _ = try TandemJSON.decode(type, from: bytes)
        return nil
    } catch {
        return error
    }
}

/// Encodes and decodes again.
func roundTrip<T: Codable>(_ value: T) throws -> T {
    try TandemJSON.decode(T.self, from: try TandemJSON.encode(value))
}

/// The JSON object an encoded record is, for asserting on the wire shape.
func jsonObject(_ value: some Encodable) throws -> [String: Any] {
    let bytes = try TandemJSON.encode(value)
    return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
}

/// A fixed "now" for validation: 2026-11-25T09:00:00Z.
let now = utc(2026, 11, 25, 9, 0, 0)

/// A valid raw interaction to break one field at a time.
func validRaw() -> RawInteraction {
    RawInteraction(
        eventId: "e-1",
        occurredAt: utc(2026, 11, 25, 8, 30),
        channel: "phone",
        kind: "inquiry",
        customerId: "C-1"
    )
}
