import Foundation
import Kafka
import Logging
import Models

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The whole suite on the embedded broker, as `tandem demo` and `tandem bench pipeline` run it:
/// librdkafka's mock cluster in this process with every topic, and the four service executables
/// (found next to this binary) as separate processes with their logs in a temporary directory.
final class EmbeddedSuite: @unchecked Sendable {
    /// The services, in the order they are started (HTTP ports follow from the base port).
    static let serviceNames = ["intake", "segmentation", "leads", "kpi"]

    let cluster: EmbeddedKafkaCluster
    let bootstrap: String
    let partitions: Int
    /// The logs and the rules file.
    let directory: URL
    /// Where `tandem` and the service executables are.
    let binaries: URL
    private(set) var services: [Child] = []

    /// Starts the broker, creates every topic and starts the services (not yet ready: see
    /// ``waitUntilReady(timeout:stop:status:)``).
    ///
    /// - Parameters:
    ///   - name: names the temporary directory (`tandem-<name>-<pid>`).
    ///   - rules: a rules file (YAML, only the keys that differ from the defaults) given to every
    ///     service through `TANDEM_RULES`; nil for the defaults.
    init(
        name: String,
        partitions: Int,
        basePort: Int,
        rules: String?,
        logger: Logger,
        status: (String) -> Void
    ) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tandem-\(name)-\(ProcessInfo.processInfo.processIdentifier)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.partitions = partitions
        status("starting the embedded broker…")
        cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        for spec in Topics.all { try cluster.createTopic(spec.name, partitions: partitions) }
        bootstrap = cluster.bootstrapServers
        binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        var environment = [
            "KAFKA_BROKERS": bootstrap, "TANDEM_LOG_LEVEL": "warning",
            // The embedded broker holds an empty fetch this long (a real one answers at once).
            "KAFKA_FETCH_WAIT_MAX_MS": "10", "TANDEM_WEBHOOK_TOKEN": "demo-token", "TANDEM_THREADS": "1",
        ]
        if let rules {
            let file = directory.appendingPathComponent("\(name)-rules.yaml")
            try rules.write(to: file, atomically: true, encoding: .utf8)
            environment["TANDEM_RULES"] = file.path
        }
        do {
            for (index, service) in Self.serviceNames.enumerated() {
                let port = basePort + index
                environment["TANDEM_HTTP_PORT"] = String(port)
                services.append(
                    try Child(
                        name: service,
                        executable: binaries.appendingPathComponent("tandem-\(service)"),
                        arguments: [],
                        environment: environment,
                        log: directory.appendingPathComponent("\(service).log"),
                        port: port
                    )
                )
            }
        } catch {
            for service in services { service.terminate() }
            for service in services { service.waitForExitBlocking(timeout: .seconds(12)) }
            cluster.shutdown()
            throw error
        }
    }

    /// Waits until every service answers `/health/ready` (partitions assigned, state restored).
    func waitUntilReady(
        timeout: Duration = .seconds(90),
        stop: TerminationSignals? = nil,
        status: (String) -> Void
    )
        async throws
    {
        let readyBy = ContinuousClock.now + timeout
        for service in services {
            status("waiting for \(service.name) to be ready (partitions assigned, state restored)…")
            while await httpGet("http://127.0.0.1:\(service.port ?? 0)/health/ready")?.status != 200 {
                if !service.isRunning || stop?.isSet == true || ContinuousClock.now > readyBy {
                    throw BenchFailure(
                        "\(service.name) did not become ready: \(service.describeExit) — \(service.log.path)"
                    )
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// The services that are no longer running, as `name (exit …)`.
    var died: [String] { services.filter { !$0.isRunning }.map { "\($0.name) (\($0.describeExit))" } }

    /// SIGTERM to every service, SIGKILL to those still running after `timeout`.
    func stopServices(timeout: Duration = .seconds(12)) async {
        for service in services { service.terminate() }
        for service in services { await service.waitForExit(timeout: timeout) }
    }

    /// Stops the services, then the broker.
    func shutdown(timeout: Duration = .seconds(12)) async {
        await stopServices(timeout: timeout)
        cluster.shutdown()
    }
}

/// A child process with its output in a log file.
final class Child: @unchecked Sendable {
    let name: String
    let port: Int?
    let log: URL
    private let process = Process()

    init(
        name: String,
        executable: URL,
        arguments: [String],
        environment: [String: String],
        log: URL,
        port: Int?
    )
        throws
    {
        self.name = name
        self.port = port
        self.log = log
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }
    var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }
    var describeExit: String {
        guard !process.isRunning else { return "running" }
        let how = process.terminationReason == .uncaughtSignal ? "signal" : "exit"
        return "\(how) \(process.terminationStatus)"
    }

    func terminate() { if process.isRunning { process.terminate() } }

    /// ``waitForExit(timeout:)`` for a caller that cannot await (an initializer cleaning up).
    func waitForExitBlocking(timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(50_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// User + system CPU seconds the process has used so far, from `/proc/<pid>/stat` (nil when
    /// it cannot be read: no /proc, or the process is gone).
    var cpuSeconds: Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm) ": state is field 3, utime and stime fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Waits for the exit; SIGKILL after `timeout`.
    func waitForExit(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// GET a URL; nil when nothing answered.
func httpGet(_ url: String) async -> (status: Int, body: String)? {
    guard let url = URL(string: url) else { return nil }
    var request = URLRequest(url: url)
    request.timeoutInterval = 2
    guard let (data, response) = try? await URLSession.shared.data(for: request),
        let http = response as? HTTPURLResponse
    else { return nil }
    return (http.statusCode, String(decoding: data, as: UTF8.self))
}
