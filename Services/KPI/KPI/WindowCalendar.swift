public import Foundation
public import Models

/// A window of one size: its start (inclusive) and end (exclusive), ms since the epoch.
public struct WindowRef: Hashable, Sendable, Comparable {
    public var size: KPIWindowSize
    public var start: Int64
    public var end: Int64

    public init(size: KPIWindowSize, start: Int64, end: Int64) {
        self.size = size
        self.start = start
        self.end = end
    }

    public static func < (lhs: WindowRef, rhs: WindowRef) -> Bool {
        (lhs.start, lhs.size.order) < (rhs.start, rhs.size.order)
    }
}

extension KPIWindowSize {
    var order: Int {
        switch self {
        case .minute: 0
        case .hour: 1
        case .day: 2
        }
    }

    /// One byte for compact keys.
    var code: UInt8 { UInt8(order) }

    init?(code: UInt8) {
        switch code {
        case 0: self = .minute
        case 1: self = .hour
        case 2: self = .day
        default: return nil
        }
    }
}

/// Assigns event times to minute, hour and day windows. Minutes are UTC-aligned; hours and days
/// follow the configured time zone's offset (so a zone at UTC+5:30 gets hours at :30 UTC, and a
/// day runs midnight to midnight local time, 23 or 25 hours on a daylight-saving change).
///
/// - Important: not thread-safe (it caches the zone's offsets); one per processor.
public final class WindowCalendar: @unchecked Sendable {
    public let timeZone: TimeZone
    /// Local day number → the day's [start, end) in UTC ms.
    private var days: [Int64: (start: Int64, end: Int64)] = [:]
    /// The offset in ms valid over a cached range of UTC hours (hour number → offset).
    private var offsets: [Int64: Int64] = [:]

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    /// The zone's UTC offset at `time`, in ms (cached per UTC hour; zones change offset on hours).
    func offset(at time: Int64) -> Int64 {
        let hour = Self.floorDiv(time, 3_600_000)
        if let known = offsets[hour] { return known }
        let seconds = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(hour * 3600)))
        let offset = Int64(seconds) * 1000
        if offsets.count > 100_000 { offsets.removeAll() }
        offsets[hour] = offset
        return offset
    }

    /// The window of `size` holding `time`.
    public func window(_ size: KPIWindowSize, containing time: Int64) -> WindowRef {
        switch size {
        case .minute:
            let start = Self.floorDiv(time, 60_000) * 60_000
            return WindowRef(size: .minute, start: start, end: start + 60_000)
        case .hour:
            let offset = offset(at: time)
            let start = Self.floorDiv(time + offset, 3_600_000) * 3_600_000 - offset
            return WindowRef(size: .hour, start: start, end: start + 3_600_000)
        case .day:
            let local = Self.floorDiv(time + offset(at: time), 86_400_000)
            let day = dayBounds(local)
            if time < day.start { return WindowRef(size: .day, start: dayBounds(local - 1).start, end: day.start) }
            if time >= day.end { return WindowRef(size: .day, start: day.end, end: dayBounds(local + 1).end) }
            return WindowRef(size: .day, start: day.start, end: day.end)
        }
    }

    /// The window of `size` starting at `start` (as found in a key).
    public func window(_ size: KPIWindowSize, startingAt start: Int64) -> WindowRef {
        window(size, containing: start)
    }

    /// A local day's bounds: local midnight to the next local midnight, in UTC ms.
    private func dayBounds(_ localDay: Int64) -> (start: Int64, end: Int64) {
        if let known = days[localDay] { return known }
        func midnight(_ day: Int64) -> Int64 {
            let guess = day * 86_400_000
            // The offset at local midnight: try the offset at the guess, then correct once.
            var utc = guess - offset(at: guess)
            utc = guess - offset(at: utc)
            return utc
        }
        let bounds = (start: midnight(localDay), end: midnight(localDay + 1))
        if days.count > 10_000 { days.removeAll() }
        days[localDay] = bounds
        return bounds
    }

    static func floorDiv(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
