import Dispatch
import Foundation
import Synchronization

/// How the CLI's long-running commands hear that they should stop: SIGINT, SIGTERM (and, for the
/// commands that supervise child processes, SIGHUP). ``install()`` sets their default action
/// aside and records the first that arrives; commands poll ``isSet`` between steps or suspend in
/// ``wait()``. A supervising command also ignores SIGPIPE: when its output is a pipe closed by
/// the same Ctrl-C (`tandem demo | tee log`), its writes fail instead of killing it before it
/// has stopped its children.
///
/// - Important: install only after starting child processes: a child inherits ignored signals.
final class TerminationSignals: Sendable {
    private struct State {
        var received: String?
        var waiters: [CheckedContinuation<String, Never>] = []
    }

    private let signals: [(number: Int32, name: String)]
    private let supervising: Bool
    private let state = Mutex(State())
    /// The dispatch sources, kept for the life of the object.
    private let sources = Mutex<[any DispatchSourceSignal]>([])

    /// - Parameter supervising: for a command with child processes: also stop on SIGHUP (the
    ///   terminal went away), and ignore SIGPIPE.
    init(supervising: Bool = false) {
        signals = [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] + (supervising ? [(SIGHUP, "SIGHUP")] : [])
        self.supervising = supervising
    }

    /// Starts listening (once).
    func install() {
        sources.withLock { sources in
            guard sources.isEmpty else { return }
            if supervising { signal(SIGPIPE, SIG_IGN) }
            let queue = DispatchQueue(label: "tandem.signals")
            for (number, name) in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { [weak self] in self?.receive(name) }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// True once a signal arrived.
    var isSet: Bool { received != nil }

    /// The first signal that arrived (e.g. "SIGTERM").
    var received: String? { state.withLock { $0.received } }

    /// Suspends until a signal arrives (installing if needed) and returns its name.
    func wait() async -> String {
        install()
        return await withCheckedContinuation { continuation in
            let now: String? = state.withLock { state in
                if let received = state.received { return received }
                state.waiters.append(continuation)
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    private func receive(_ name: String) {
        let waiters: [CheckedContinuation<String, Never>] = state.withLock { state in
            if state.received == nil { state.received = name }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: name) }
    }
}
