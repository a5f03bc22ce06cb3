/// Waiting in tests: for a condition with a deadline, never a fixed sleep.

/// A condition that did not come true in time.
public struct TimedOut: Error, CustomStringConvertible {
    public var what: String

    public init(what: String) { self.what = what }

    public var description: String { "timed out waiting for \(what)" }
}

/// Waits for `condition`, checking it every 10 ms, until `timeout` passes.
///
/// - Throws: ``TimedOut`` naming `what` when the deadline passes first.
public func waitUntil(
    _ what: String,
    timeout: Duration = .seconds(60),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TimedOut(what: what)
}
