import Foundation

/// Writes JSON bytes the way `TandemJSON.encoder()` (Foundation's `JSONEncoder` with sorted keys
/// and unescaped slashes) writes them, straight into a byte array.
///
/// What it copies from Foundation, byte for byte: strings escape `"`, `\`, and the control
/// characters (`\b`, `\f`, `\n`, `\r`, `\t`, otherwise `\u00xx` in lower-case hex), and nothing
/// else (not `/`, not U+007F, not U+2028); doubles are their Swift `description` without a
/// trailing `.0`; integers are decimal; object keys are sorted by their UTF-8 bytes (the callers
/// write fixed keys in that order).
///
/// It writes through a pointer into space the caller reserved with ``FastJSONWriter/write(into:bound:_:)``
/// (an upper bound of the output, see ``FastJSONWriter/bound(strings:)``): appending to an array
/// byte by byte costs several times more.
struct FastJSONWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0
    private var needsComma = false

    private init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// Appends what `body` writes to `buffer`, in at most `bound` bytes.
    static func write(into buffer: inout [UInt8], bound: Int, _ body: (inout FastJSONWriter) -> Void) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: bound))
        let written = buffer.withUnsafeMutableBufferPointer { all in
            var writer = FastJSONWriter(base: all.baseAddress! + start, capacity: bound)
            body(&writer)
            return writer.count
        }
        // A wrong bound would have written past the reserved space: stop rather than go on.
        precondition(written <= bound, "FastJSONWriter bound too small")
        buffer.removeLast(bound - written)
    }

    /// Writes what `body` writes into `scratch`, in at most `bound` bytes, without zero-filling
    /// or copying it into an array: the bytes written, borrowed from `scratch` until its next use.
    static func write(
        into scratch: Scratch,
        bound: Int,
        _ body: (inout FastJSONWriter) -> Void
    ) -> UnsafeRawBufferPointer {
        scratch.reserve(bound)
        var writer = FastJSONWriter(base: scratch.base, capacity: bound)
        body(&writer)
        precondition(writer.count <= bound, "FastJSONWriter bound too small")
        return UnsafeRawBufferPointer(start: scratch.base, count: writer.count)
    }

    /// Reusable, uninitialised space to write into (it grows and never shrinks).
    final class Scratch {
        private(set) var base: UnsafeMutablePointer<UInt8>
        private(set) var capacity: Int

        init(capacity: Int = 4096) {
            base = .allocate(capacity: capacity)
            self.capacity = capacity
        }

        deinit { base.deallocate() }

        func reserve(_ count: Int) {
            guard count > capacity else { return }
            base.deallocate()
            capacity = max(count, 2 * capacity)
            base = .allocate(capacity: capacity)
        }
    }

    /// An upper bound of a record's output: generous room for keys, punctuation, numbers and
    /// timestamps, plus every string byte escaped as `\u00xx` with its quotes and separator.
    static func bound(strings: Int, stringBytes: Int) -> Int { 1024 + 6 * stringBytes + 4 * strings }

    @inline(__always)
    private mutating func byte(_ value: UInt8) {
        assert(count < capacity)
        base[count] = value
        count += 1
    }

    @inline(__always)
    private mutating func bytes(_ source: UnsafeBufferPointer<UInt8>) {
        assert(count + source.count <= capacity)
        guard let address = source.baseAddress else { return }
        let length = source.count
        if length <= 16 {
            // Most copies are short (names, numbers, ids): two overlapping loads and stores
            // instead of a call to memmove.
            let from = UnsafeRawPointer(address)
            let to = UnsafeMutableRawPointer(base + count)
            if length >= 8 {
                let head = from.loadUnaligned(as: UInt64.self)
                let tail = from.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
                to.storeBytes(of: head, as: UInt64.self)
                to.storeBytes(of: tail, toByteOffset: length - 8, as: UInt64.self)
            } else if length >= 4 {
                let head = from.loadUnaligned(as: UInt32.self)
                let tail = from.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self)
                to.storeBytes(of: head, as: UInt32.self)
                to.storeBytes(of: tail, toByteOffset: length - 4, as: UInt32.self)
            } else {
                for index in 0..<length { (base + count)[index] = address[index] }
            }
        } else {
            (base + count).update(from: address, count: length)
        }
        count += length
    }

    @inline(__always)
    private mutating func ascii(_ text: StaticString) {
        bytes(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func beginObject() {
        byte(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        byte(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Writes `"key":`, with the comma before it when needed. Keys are plain ASCII.
    @inline(__always)
    mutating func key(_ key: StaticString) {
        if needsComma { byte(UInt8(ascii: ",")) }
        byte(UInt8(ascii: "\""))
        ascii(key)
        byte(UInt8(ascii: "\""))
        byte(UInt8(ascii: ":"))
        needsComma = true
    }

    /// Writes `"key":` for a key known only at run time (plain ASCII, no escapes needed).
    mutating func key(bytes key: [UInt8]) {
        if needsComma { byte(UInt8(ascii: ",")) }
        byte(UInt8(ascii: "\""))
        key.withUnsafeBufferPointer { bytes($0) }
        byte(UInt8(ascii: "\""))
        byte(UInt8(ascii: ":"))
        needsComma = true
    }

    /// Writes `"key":` for any string key (escaped as a string value is).
    mutating func key(string key: String) {
        if needsComma { byte(UInt8(ascii: ",")) }
        string(key)
        byte(UInt8(ascii: ":"))
        needsComma = true
    }

    /// A finite double, or `null` for nil (an `Optional` encoded with `encode(_:forKey:)`).
    mutating func nullableField(_ key: StaticString, _ value: Double?) {
        if let value {
            field(key, value)
        } else {
            self.key(key)
            ascii("null")
        }
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
        if value { ascii("true") } else { ascii("false") }
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
        // A whole number below 10^15 is its integer digits (as `description` without ".0" would
        // be, only without formatting a Double); -0 keeps its sign through `description`.
        if value.rounded(.towardZero) == value, abs(value) < 1e15, value != 0 || value.sign == .plus {
            integer(Int64(value))
            return
        }
        if shortDecimal(value) { return }
        var text = value.description
        text.withUTF8 { utf8 in
            // Foundation drops a trailing ".0": 310.0 is written 310, 1e+20 stays 1e+20.
            var count = utf8.count
            if count >= 2, utf8[count - 2] == UInt8(ascii: "."), utf8[count - 1] == UInt8(ascii: "0") { count -= 2 }
            bytes(UnsafeBufferPointer(rebasing: utf8[0..<count]))
        }
    }

    /// Writes a double with a fraction that is a short decimal the way `description` writes it,
    /// without formatting a Double; false (nothing written) for any other.
    ///
    /// `description` writes the shortest digits that read back as the same double (the closest
    /// to it when several are as short), positionally for magnitudes 10⁻⁴ up to 2⁵³. Here: the
    /// fewest fractional digits k (1…15) for which a k-digit decimal n / 10ᵏ reads back as the
    /// value, in 10⁻³…10¹⁵. Reading back is one division of exact operands (n < 2⁵³, 10ᵏ ≤ 10¹⁵),
    /// correctly rounded as a parser rounds. While value·10ᵏ < 2⁵⁰, k-digit decimals are more
    /// than four units in the last place of the value apart, so at most one reads back, and it
    /// is the rounded product (less than ⅛ + 1⁄16 from the exact one); beyond, it declines.
    @inline(__always)
    private mutating func shortDecimal(_ value: Double) -> Bool {
        let magnitude = abs(value)
        guard magnitude >= 1e-3, magnitude < 1e15 else { return false }
        var scale = 1.0  // 10^k, exact (no shared table: its reference count would be contended)
        for k in 1...15 {
            scale *= 10
            let product = magnitude * scale
            guard product < 1_125_899_906_842_624 else { return false }
            let candidate = product.rounded()
            guard candidate / scale == magnitude else { continue }
            let digits = UInt64(candidate)
            if digits % 10 == 0 { return false }
            let unit = UInt64(scale)
            if value < 0 { byte(UInt8(ascii: "-")) }
            integer(Int64(digits / unit))
            byte(UInt8(ascii: "."))
            var fraction = digits % unit
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 15) { buffer in
                for index in stride(from: k - 1, through: 0, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(fraction % 10)
                    fraction /= 10
                }
                bytes(UnsafeBufferPointer(rebasing: buffer[0..<k]))
            }
            return true
        }
        return false
    }

    /// A date the caller has checked with ``FastJSONWriter/millis(_:)``.
    mutating func field(_ key: StaticString, millis: Int64) {
        self.key(key)
        timestamp(millis)
    }

    mutating func field(_ key: StaticString, _ value: [String]?) {
        guard let value else { return }
        self.key(key)
        byte(UInt8(ascii: "["))
        for (index, element) in value.enumerated() {
            if index > 0 { byte(UInt8(ascii: ",")) }
            string(element)
        }
        byte(UInt8(ascii: "]"))
    }

    /// `"key":[…]` with `count` elements, each written by `element` (given its index).
    mutating func field(_ key: StaticString, count: Int, element: (inout FastJSONWriter, Int) -> Void) {
        self.key(key)
        byte(UInt8(ascii: "["))
        for index in 0..<count {
            if index > 0 { byte(UInt8(ascii: ",")) }
            element(&self, index)
        }
        byte(UInt8(ascii: "]"))
    }

    mutating func field(_ key: StaticString, _ value: [String: String]?) {
        guard let value else { return }
        self.key(key)
        byte(UInt8(ascii: "{"))
        // Foundation (swift-foundation on Linux) sorts keys by their UTF-8 bytes.
        var first = true
        if value.count == 1 {
            for (key, element) in value { writePair(key, element, first: &first) }
        } else {
            for (key, element) in value.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                writePair(key, element, first: &first)
            }
        }
        byte(UInt8(ascii: "}"))
    }

    private mutating func writePair(_ key: String, _ value: String, first: inout Bool) {
        if !first { byte(UInt8(ascii: ",")) }
        first = false
        string(key)
        byte(UInt8(ascii: ":"))
        string(value)
    }

    mutating func integer(_ value: Int64) {
        if value == .min {
            ascii("-9223372036854775808")
            return
        }
        var magnitude = value < 0 ? -value : value
        if value < 0 { byte(UInt8(ascii: "-")) }
        // At most 19 digits, written backwards into a fixed buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var index = 20
            repeat {
                index -= 1
                digits[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes(UnsafeBufferPointer(rebasing: digits[index..<20]))
        }
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string(utf8: $0) }
    }

    /// A string given as valid UTF-8 bytes, quoted and escaped as ``string(_:)`` writes it.
    mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        byte(UInt8(ascii: "\""))
        guard let source = utf8.baseAddress else {
            byte(UInt8(ascii: "\""))
            return
        }
        let raw = UnsafeRawPointer(source)
        var index = 0
        while index < utf8.count {
            // Most text needs no escape: eight bytes at a time, each word copied as it is checked.
            if index + 8 <= utf8.count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if !Self.needsEscape(word) {
                    assert(count + 8 <= capacity)
                    UnsafeMutableRawPointer(base + count).storeBytes(of: word, as: UInt64.self)
                    count += 8
                    index += 8
                    continue
                }
            }
            let c = source[index]
            index += 1
            guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else {
                byte(c)
                continue
            }
            byte(UInt8(ascii: "\\"))
            switch c {
            case UInt8(ascii: "\""): byte(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): byte(UInt8(ascii: "\\"))
            case 0x08: byte(UInt8(ascii: "b"))
            case 0x0C: byte(UInt8(ascii: "f"))
            case 0x0A: byte(UInt8(ascii: "n"))
            case 0x0D: byte(UInt8(ascii: "r"))
            case 0x09: byte(UInt8(ascii: "t"))
            default:
                ascii("u00")
                byte(Self.hexDigit(c >> 4))
                byte(Self.hexDigit(c & 0xF))
            }
        }
        byte(UInt8(ascii: "\""))
    }

    /// `"key":` and a value already written as JSON, given as bytes.
    mutating func field(_ key: StaticString, json: UnsafeBufferPointer<UInt8>) {
        self.key(key)
        bytes(json)
    }

    /// `"key":` and a string given as valid UTF-8 bytes.
    mutating func field(_ key: StaticString, utf8: UnsafeBufferPointer<UInt8>) {
        self.key(key)
        string(utf8: utf8)
    }

    /// Whether any of eight bytes is below 0x20, a quote or a backslash (exact, by the classic
    /// "has a byte less than n" and "has a zero byte" bit tricks).
    @inline(__always)
    private static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let quotes = (quote &- ones) & ~quote & highs
        let backslashes = (backslash &- ones) & ~backslash & highs
        return control | quotes | backslashes != 0
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    // MARK: - Timestamps (``Timestamp/format(_:)`` as bytes)

    /// The whole milliseconds `Timestamp.format` writes for a date, or `nil` where it refuses
    /// (not finite, or outside years 0001–9999).
    static func millis(_ date: Date) -> Int64? {
        let interval = date.timeIntervalSince1970 * 1000
        guard interval.isFinite, abs(interval) < 3e14 else { return nil }
        let millis = Int64(interval.rounded())
        let days = floorDivide(millis, 86_400_000).quotient
        let year = Timestamp.civil(fromDays: days).year
        return (1...9999).contains(year) ? millis : nil
    }

    private mutating func timestamp(_ millis: Int64) {
        let (days, msOfDay) = Self.floorDivide(millis, 86_400_000)
        let (year, month, day) = Timestamp.civil(fromDays: days)
        // "YYYY-MM-DDTHH:MM:SS.mmmZ" with its quotes: 26 bytes, written in place.
        assert(count + 26 <= capacity)
        let p = base + count
        p[0] = UInt8(ascii: "\"")
        Self.twoDigits(p + 1, year / 100)
        Self.twoDigits(p + 3, year % 100)
        p[5] = UInt8(ascii: "-")
        Self.twoDigits(p + 6, month)
        p[8] = UInt8(ascii: "-")
        Self.twoDigits(p + 9, day)
        p[11] = UInt8(ascii: "T")
        Self.twoDigits(p + 12, msOfDay / 3_600_000)
        p[14] = UInt8(ascii: ":")
        Self.twoDigits(p + 15, msOfDay / 60_000 % 60)
        p[17] = UInt8(ascii: ":")
        Self.twoDigits(p + 18, msOfDay / 1000 % 60)
        p[20] = UInt8(ascii: ".")
        p[21] = UInt8(ascii: "0") + UInt8(msOfDay % 1000 / 100)
        Self.twoDigits(p + 22, msOfDay % 100)
        p[24] = UInt8(ascii: "Z")
        p[25] = UInt8(ascii: "\"")
        count += 26
    }

    /// Two decimal digits of a value in 0…99.
    @inline(__always)
    private static func twoDigits(_ p: UnsafeMutablePointer<UInt8>, _ value: Int) {
        p[0] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / 10)
        p[1] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10)
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
