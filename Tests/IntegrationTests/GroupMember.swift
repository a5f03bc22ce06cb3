import Foundation
import Kafka
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A service binary running as a member of a consumer group on a cluster the test owns, with
/// short session timeouts so a killed member is noticed quickly. Its standard error goes to a
/// temporary file named after its port, for diagnosis.
final class GroupMember: @unchecked Sendable {
    let process = Process()
    let port = freePort()
    let name: String

    /// - Parameters:
    ///   - executable: the binary's name next to `tandem` (`tandem`, `tandem-intake`, …).
    ///   - arguments: its arguments.
    ///   - environment: more variables (over the defaults below).
    init(
        _ executable: String,
        arguments: [String] = [],
        environment extra: [String: String] = [:],
        cluster: EmbeddedKafkaCluster,
        group: String
    ) throws {
        name = executable
        process.executableURL = try tandemBinary().deletingLastPathComponent().appendingPathComponent(executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("KAFKA_") && !$0.key.hasPrefix("TANDEM_")
        }
        environment.merge([
            "KAFKA_BROKERS": cluster.bootstrapServers, "TANDEM_HTTP_PORT": String(port), "TANDEM_GROUP_ID": group,
            "KAFKA_FETCH_WAIT_MAX_MS": "10", "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "KAFKA_HEARTBEAT_INTERVAL_MS": "300", "TANDEM_LOG_LEVEL": "warning",
        ]) { _, new in new }
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("\(executable)-\(port).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
    }

    /// Waits for `/health/ready`: partitions assigned and state restored.
    func waitReady() async throws {
        try await waitUntil("\(name) to be ready", timeout: .seconds(40)) {
            await httpGet("http://127.0.0.1:\(port)/health/ready")?.status == 200
        }
    }

    /// Ends the process with SIGKILL: no chance to commit or leave the group.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGSTOP (frozen, as a stalled or swapped-out process is) or SIGCONT (thawed).
    func freeze(_ frozen: Bool) {
        kill(process.processIdentifier, frozen ? SIGSTOP : SIGCONT)
    }

    /// SIGTERM, then waits for the exit.
    func terminate() {
        if process.isRunning {
            freeze(false)
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// A TCP port nobody listens on right now: the kernel's pick for a socket bound to port 0 (a
/// random one could be taken by a benchmark or another test's service, and the child would then
/// fail to bind its health endpoint).
func freePort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
        }
    }
    guard descriptor >= 0, bound else { return Int.random(in: 20_000..<40_000) }
    return Int(UInt16(bigEndian: address.sin_port))
}
