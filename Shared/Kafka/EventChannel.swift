import Foundation

/// Hands consumer events from the poll thread to one async reader, in order, with a bounded buffer.
///
/// The poll thread blocks (it is a dedicated OS thread) while the buffer is full, so a slow
/// reader slows fetching instead of growing memory. A revocation is delivered and then the poll
/// thread waits until the reader has asked for the next event, i.e. has finished handling it:
/// that is how a service saves state and commits before its partitions move elsewhere.
final class EventChannel<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var buffer: [Element] = []
    private var head = 0
    private var waiter: CheckedContinuation<Element?, Never>?
    private var finished = false
    /// Set when the consumer closes: sends no longer wait for room or for the reader.
    private var unbounded = false
    /// Events handed to the reader so far, and the number of `next()` calls after them.
    private var delivered: UInt64 = 0
    private var requested: UInt64 = 0
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Poll thread: queue an event, blocking while the buffer is full.
    /// - Returns: the event's sequence number (for ``waitUntilHandled(_:)``), or nil when finished.
    @discardableResult
    func send(_ element: Element) -> UInt64? {
        condition.lock()
        while !finished, !unbounded, waiter == nil, buffer.count - head >= capacity {
            condition.wait()
        }
        if finished {
            condition.unlock()
            return nil
        }
        return deliverAndUnlock(element)
    }

    /// With the lock held: counts `element`, hands it to the waiting reader or buffers it, and
    /// unlocks. Returns its sequence number.
    @discardableResult
    private func deliverAndUnlock(_ element: Element) -> UInt64 {
        delivered += 1
        let sequence = delivered
        if let waiter {
            self.waiter = nil
            condition.unlock()
            waiter.resume(returning: element)
        } else {
            buffer.append(element)
            condition.unlock()
        }
        return sequence
    }

    /// Poll thread: block until the reader has asked for the event after `sequence`, or the channel finished.
    func waitUntilHandled(_ sequence: UInt64) {
        condition.lock()
        while !finished, !unbounded, requested <= sequence {
            condition.wait()
        }
        condition.unlock()
    }

    /// Either side: no more events; the reader drains what is buffered, then gets nil.
    func finish() {
        condition.lock()
        finished = true
        let waiter = self.waiter
        self.waiter = nil
        condition.broadcast()
        condition.unlock()
        waiter?.resume(returning: nil)
    }

    /// Drops what is buffered and not yet read (released after the lock is let go). For the
    /// consumer letting go of its channel: buffered batches hold the client, and the client holds
    /// this channel through its callbacks, so unread batches would keep both alive for good.
    func discardBuffered() {
        condition.lock()
        var dropped: [Element] = []
        swap(&dropped, &buffer)
        head = 0
        condition.broadcast()
        condition.unlock()
        dropped.removeAll()
    }

    /// The consumer is closing: let the poll thread finish without waiting for the reader.
    func stopBlocking() {
        condition.lock()
        unbounded = true
        condition.broadcast()
        condition.unlock()
    }

    /// Hands `element` to the reader now if it waits, else makes its next call return it — unless
    /// an element is buffered (or the channel finished): the next call returns at once anyway.
    /// Never blocks, whatever the capacity: for threads other than the producer's, to wake the
    /// reader. Counted like a sent element, so ``waitUntilHandled(_:)`` stays exact.
    func nudge(_ element: Element) {
        condition.lock()
        if finished || head < buffer.count {
            condition.unlock()
            return
        }
        deliverAndUnlock(element)
    }

    /// True when the reader's next call returns at once (an event is buffered, or the channel finished).
    var hasBuffered: Bool {
        condition.lock()
        defer { condition.unlock() }
        return head < buffer.count || finished
    }

    var isFinished: Bool {
        condition.lock()
        defer { condition.unlock() }
        return finished
    }

    /// Reader: the next event, or nil once finished and drained.
    func next() async -> Element? {
        await withCheckedContinuation { continuation in
            condition.lock()
            requested += 1
            condition.broadcast()
            if head < buffer.count {
                let element = buffer[head]
                head += 1
                if head == buffer.count {
                    buffer.removeAll(keepingCapacity: true)
                    head = 0
                }
                condition.unlock()
                continuation.resume(returning: element)
            } else if finished {
                condition.unlock()
                continuation.resume(returning: nil)
            } else {
                precondition(waiter == nil, "a consumer's events can be read by one task at a time")
                waiter = continuation
                condition.unlock()
            }
        }
    }
}
