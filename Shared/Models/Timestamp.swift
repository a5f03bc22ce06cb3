public import Foundation

/// RFC 3339 timestamps as the wire format writes them (SPEC §2): UTC with exactly three fractional
/// digits, e.g. `2026-11-25T08:30:00.123Z`.
///
/// Parsing is lenient in what RFC 3339 allows: with or without fractional seconds, `Z` or a numeric
/// offset (converted to UTC), lower-case `t`/`z`. Digits beyond milliseconds are truncated, so a
/// value decoded and encoded again is stable. Leap seconds (`:60`) and years outside 0001–9999 are
/// rejected.
///
/// The implementation is a hand-written scanner over UTF-8 bytes rather than a `DateFormatter`:
/// it is exact (integer milliseconds), allocation-free and safe to call from any thread.
public enum Timestamp {
    /// Formats a date as RFC 3339 UTC with milliseconds, rounding to the nearest millisecond.
    ///
    /// - Returns: `nil` if the date is not finite or falls outside years 0001–9999.
    public static func format(_ date: Date) -> String? {
        let interval = date.timeIntervalSince1970 * 1000
        guard interval.isFinite, abs(interval) < 3e14 else { return nil }
        let millis = Int64(interval.rounded())
        let (days, msOfDay) = floorDivide(millis, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        guard (1...9999).contains(year) else { return nil }
        let hour = msOfDay / 3_600_000
        let minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60
        let ms = msOfDay % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
            + ".\(pad(ms, 3))Z"
    }

    /// Parses an RFC 3339 date-time.
    ///
    /// - Returns: `nil` if the text is not a valid RFC 3339 date-time.
    public static func parse(_ text: String) -> Date? {
        var text = text
        guard let millis = text.withUTF8({ parseMilliseconds($0) }) else { return nil }
        return date(millisecondsSince1970: millis)
    }

    /// The date at a whole number of milliseconds since 1970-01-01T00:00:00Z, built the way
    /// decoding builds dates, so that tests and callers get bit-identical values.
    public static func date(millisecondsSince1970 millis: Int64) -> Date {
        Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    /// The whole milliseconds since the epoch of a date (rounded to the nearest, as timestamps are
    /// written): the inverse of ``date(millisecondsSince1970:)``.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    // MARK: - Parsing

    /// Milliseconds since the epoch of an RFC 3339 date-time given as UTF-8 bytes; the one parser
    /// both `parse(_:)` and the simdjson fast path use.
    static func parseMilliseconds(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        // YYYY-MM-DDTHH:MM:SS is 19 bytes; then optional .fraction, then Z or ±HH:MM.
        guard b.count >= 20 else { return nil }
        func digits(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for i in from..<from + count {
                let c = b[i]
                guard c >= 0x30, c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            return value
        }
        guard let year = digits(0, 4), b[4] == UInt8(ascii: "-"),
            let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let hour = digits(11, 2), b[13] == UInt8(ascii: ":"),
            let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }

        var i = 19
        var millis = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if i - start < 3 { millis = millis * 10 + Int(b[i] - 0x30) }
                i += 1
            }
            let count = i - start
            guard count >= 1 else { return nil }
            for _ in count..<max(count, 3) { millis *= 10 }
        }

        guard i < b.count else { return nil }
        var offsetMinutes = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard b.count == i + 6, let oh = digits(i + 1, 2), b[i + 3] == UInt8(ascii: ":"),
                let om = digits(i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == b.count else { return nil }

        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    // MARK: - Calendar arithmetic (proleptic Gregorian, H. Hinnant's algorithms)

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    /// Whole calendar months (UTC) from `start` to `end`, both ms since the epoch: 2020-01-15 to
    /// 2025-01-15 is 60, to 2025-01-14 is 59; 0 when `end` is not after `start`.
    public static func wholeMonths(fromMilliseconds start: Int64, to end: Int64) -> Int {
        guard end > start else { return 0 }
        let (startDays, startMs) = floorDivide(start, 86_400_000)
        let (endDays, endMs) = floorDivide(end, 86_400_000)
        let a = civil(fromDays: startDays)
        let b = civil(fromDays: endDays)
        var months = (b.year * 12 + b.month) - (a.year * 12 + a.month)
        if b.day < a.day || (b.day == a.day && endMs < startMs) { months -= 1 }
        return max(0, months)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, Int(r))
    }

    private static func pad(_ value: some BinaryInteger, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
