import Foundation

/// Writes JSON bytes the way `TandemJSON.encoder()` (Foundation's `JSONEncoder` with sorted keys
/// and unescaped slashes) writes them, straight into a byte array.
///
/// What it copies from Foundation, byte for byte: strings escape `"`, `\`, and the control
/// characters (`\b`, `\f`, `\n`, `\r`, `\t`, otherwise `\u00xx` in lower-case hex), and nothing
/// else (not `/`, not U+007F, not U+2028); doubles are their Swift `description` without a
/// trailing `.0`; integers are decimal; object keys are sorted by their UTF-8 bytes (the callers
/// write fixed keys in that order).
struct FastJSONWriter {
    var bytes: [UInt8]
    private var needsComma = false

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Writes `"key":`, with the comma before it when needed. Keys are plain ASCII.
    @inline(__always)
    mutating func key(_ key: StaticString) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = true
    }

    mutating func field(_ key: StaticString, _ value: String) {
        self.key(key)
        string(value)
    }

    mutating func field(_ key: StaticString, _ value: String?) {
        if let value { field(key, value) }
    }

    mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        if value {
            bytes.append(contentsOf: [UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")])
        } else {
            bytes.append(contentsOf: [
                UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "e"),
            ])
        }
    }

    mutating func field(_ key: StaticString, _ value: Bool?) {
        if let value { field(key, value) }
    }

    mutating func field(_ key: StaticString, _ value: Int64) {
        self.key(key)
        integer(value)
    }

    mutating func field(_ key: StaticString, _ value: Int?) {
        if let value { field(key, Int64(value)) }
    }

    /// A finite double (callers check first, in Foundation's order).
    mutating func field(_ key: StaticString, _ value: Double?) {
        guard let value else { return }
        self.key(key)
        var text = value.description
        text.withUTF8 { utf8 in
            // Foundation drops a trailing ".0": 310.0 is written 310, 1e+20 stays 1e+20.
            var count = utf8.count
            if count >= 2, utf8[count - 2] == UInt8(ascii: "."), utf8[count - 1] == UInt8(ascii: "0") { count -= 2 }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[0..<count]))
        }
    }

    /// A date the caller has checked with ``FastJSONWriter/millis(_:)``.
    mutating func field(_ key: StaticString, millis: Int64) {
        self.key(key)
        timestamp(millis)
    }

    mutating func field(_ key: StaticString, _ value: [String]?) {
        guard let value else { return }
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (index, element) in value.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(element)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func field(_ key: StaticString, _ value: [String: String]?) {
        guard let value else { return }
        self.key(key)
        bytes.append(UInt8(ascii: "{"))
        // Foundation (swift-foundation on Linux) sorts keys by their UTF-8 bytes.
        var first = true
        if value.count == 1 {
            for (key, element) in value { writePair(key, element, first: &first) }
        } else {
            for (key, element) in value.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                writePair(key, element, first: &first)
            }
        }
        bytes.append(UInt8(ascii: "}"))
    }

    private mutating func writePair(_ key: String, _ value: String, first: inout Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        string(key)
        bytes.append(UInt8(ascii: ":"))
        string(value)
    }

    mutating func integer(_ value: Int64) {
        if value == .min {
            bytes.append(contentsOf: value.description.utf8)
            return
        }
        var magnitude = value < 0 ? -value : value
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // At most 19 digits, written backwards into a fixed buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var index = 20
            repeat {
                index -= 1
                digits[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[index..<20]))
        }
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var mark = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if index > mark { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[mark..<index])) }
                mark = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(Self.hex[Int(byte >> 4)])
                    bytes.append(Self.hex[Int(byte & 0xF)])
                }
            }
            if utf8.count > mark { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[mark..<utf8.count])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    // MARK: - Timestamps (``Timestamp/format(_:)`` as bytes)

    /// The whole milliseconds `Timestamp.format` writes for a date, or `nil` where it refuses
    /// (not finite, or outside years 0001–9999).
    static func millis(_ date: Date) -> Int64? {
        let interval = date.timeIntervalSince1970 * 1000
        guard interval.isFinite, abs(interval) < 3e14 else { return nil }
        let millis = Int64(interval.rounded())
        let days = floorDivide(millis, 86_400_000).quotient
        let year = FastTimestamp.civil(fromDays: days).year
        return (1...9999).contains(year) ? millis : nil
    }

    private mutating func timestamp(_ millis: Int64) {
        let (days, msOfDay) = Self.floorDivide(millis, 86_400_000)
        let (year, month, day) = FastTimestamp.civil(fromDays: days)
        bytes.append(UInt8(ascii: "\""))
        digits(year, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(month, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(msOfDay / 3_600_000, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(msOfDay / 60_000 % 60, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(msOfDay / 1000 % 60, 2)
        bytes.append(UInt8(ascii: "."))
        digits(msOfDay % 1000, 3)
        bytes.append(UInt8(ascii: "Z"))
        bytes.append(UInt8(ascii: "\""))
    }

    /// Exactly `width` digits of a value known to fit (years 1–9999 and clock fields).
    private mutating func digits(_ value: Int, _ width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, Int(r))
    }
}
