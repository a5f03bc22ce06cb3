/// Event time per input partition, with timers.
///
/// A partition's event time is the largest event timestamp seen on it. When a partition has
/// been idle for longer than `idleTimeout`, its event time follows the wall clock from its last
/// event on, so a quiet stream still closes its windows and moves silent customers on (the
/// classic failure of stream processors is a window that waits forever for the next event).
/// Timers fire when their partition's event time reaches their deadline.
///
/// Times are milliseconds since the epoch.
public struct EventTimeClock<TimerKey: Hashable & Sendable>: Sendable {
    struct PartitionClock: Sendable {
        var eventTime: Int64
        /// Event and wall time of the last observed event: the anchor for idle advancing.
        var lastEventTime: Int64
        var lastEventWall: Int64
        var timers = TimerHeap<TimerKey>()
    }

    /// How long a partition may be quiet before the wall clock moves its event time.
    public let idleTimeoutMilliseconds: Int64
    private var partitions: [Int32: PartitionClock] = [:]

    public init(idleTimeout: Duration) {
        idleTimeoutMilliseconds =
            idleTimeout.components.seconds * 1000 + idleTimeout.components.attoseconds / 1_000_000_000_000_000
    }

    /// The partition's event time, nil before its first event (timers may be scheduled earlier).
    public func eventTime(partition: Int32) -> Int64? {
        guard let time = partitions[partition]?.eventTime, time != .min else { return nil }
        return time
    }

    /// Records an event's time; event time never goes backwards.
    public mutating func observe(partition: Int32, eventTime: Int64, wallNow: Int64) {
        // In place: one lookup, and the partition's timers are not copied.
        Self.observe(
            &partitions[
                partition,
                default: PartitionClock(eventTime: eventTime, lastEventTime: eventTime, lastEventWall: wallNow)
            ],
            eventTime: eventTime,
            wallNow: wallNow
        )
    }

    private static func observe(_ clock: inout PartitionClock, eventTime: Int64, wallNow: Int64) {
        clock.eventTime = max(clock.eventTime, eventTime)
        clock.lastEventTime = clock.eventTime
        clock.lastEventWall = wallNow
    }

    /// Moves idle partitions' event time on by the wall clock.
    /// - Returns: the partitions whose event time moved.
    @discardableResult
    public mutating func advanceIdle(wallNow: Int64) -> [Int32] {
        var moved: [Int32] = []
        for (partition, clock) in partitions {
            let quiet = wallNow - clock.lastEventWall
            guard quiet >= idleTimeoutMilliseconds else { continue }
            let advanced = clock.lastEventTime + quiet
            if advanced > clock.eventTime {
                partitions[partition]!.eventTime = advanced
                moved.append(partition)
            }
        }
        return moved.sorted()
    }

    /// Schedules (or reschedules) a timer; it fires once the partition's event time reaches `deadline`.
    public mutating func schedule(_ key: TimerKey, at deadline: Int64, partition: Int32) {
        if partitions[partition] == nil {
            partitions[partition] = PartitionClock(eventTime: .min, lastEventTime: .min, lastEventWall: .max)
        }
        partitions[partition]!.timers.insert(key, deadline: deadline)
    }

    /// Removes and returns the partition's timers whose deadline event time has reached, earliest first.
    public mutating func dueTimers(partition: Int32) -> [(key: TimerKey, deadline: Int64)] {
        guard let eventTime = partitions[partition]?.eventTime else { return [] }
        var due: [(key: TimerKey, deadline: Int64)] = []
        // Mutated in place through the dictionary: copying the clock would copy its whole heap.
        while let next = partitions[partition]?.timers.peek(), next.deadline <= eventTime {
            due.append(partitions[partition]!.timers.pop()!)
        }
        return due
    }

    /// The deadline `key` is scheduled at in `partition`, nil when it has no timer.
    public func deadline(of key: TimerKey, partition: Int32) -> Int64? {
        partitions[partition]?.timers.deadline(of: key)
    }

    /// Number of timers waiting in a partition.
    public func timerCount(partition: Int32) -> Int { partitions[partition]?.timers.count ?? 0 }

    /// Forgets a partition (revoked).
    public mutating func drop(partition: Int32) { partitions[partition] = nil }
}

/// A binary min-heap of timers by deadline; a rescheduled key replaces its earlier deadline.
struct TimerHeap<Key: Hashable & Sendable>: Sendable {
    private var heap: [(key: Key, deadline: Int64)] = []
    /// The current deadline of each key; heap entries with another deadline are stale.
    private var current: [Key: Int64] = [:]

    var count: Int { current.count }

    func deadline(of key: Key) -> Int64? { current[key] }

    mutating func insert(_ key: Key, deadline: Int64) {
        current[key] = deadline
        heap.append((key, deadline))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func peek() -> (key: Key, deadline: Int64)? {
        discardStale()
        return heap.first
    }

    mutating func pop() -> (key: Key, deadline: Int64)? {
        discardStale()
        guard let top = heap.first else { return nil }
        removeTop()
        current[top.key] = nil
        return top
    }

    private mutating func discardStale() {
        while let top = heap.first, current[top.key] != top.deadline { removeTop() }
    }

    private mutating func removeTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
