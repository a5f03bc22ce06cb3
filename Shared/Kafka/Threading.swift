import Foundation
import Synchronization

/// Wakes senders suspended on a full producer queue. The generation closes the gap between a
/// sender seeing "queue full" and registering: a signal in between is not lost.
final class SpaceSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    var generation: UInt64 { state.withLock { $0.generation } }

    func wait(after generation: UInt64) async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.generation != generation { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A one-way boolean set on one thread or task and read on another (a poll thread's stop
/// request; the service kit's "this batch is acknowledged").
public final class AtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)

    public init() {}

    public var isSet: Bool { value.load(ordering: .acquiring) }

    public func set() { value.store(true, ordering: .releasing) }

    /// Sets the flag; true if this call set it.
    public func setOnce() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
}

/// A dedicated OS thread running one blocking loop (librdkafka polling), joinable from async code.
final class PollThread: Sendable {
    private final class Completion: Sendable {
        private let state = Mutex<(finished: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func finish() {
            let waiters = state.withLock { state in
                state.finished = true
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        func wait() async {
            await withCheckedContinuation { continuation in
                let finished = state.withLock { state -> Bool in
                    if state.finished { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if finished { continuation.resume() }
            }
        }
    }

    private let completion = Completion()

    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [completion] in
            body()
            completion.finish()
        }
        thread.name = name
        thread.start()
    }

    /// Suspends until the loop has returned.
    func join() async {
        await completion.wait()
    }
}
