import Foundation
import Models
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A `tandem dev-broker` process for a test, stopped when the test ends.
final class DevBroker: @unchecked Sendable {
    let process = Process()
    let bootstrap: String

    init(partitions: Int = 3) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-bs-\(UUID().uuidString)").path
        process.executableURL = try tandemBinary()
        process.arguments = ["dev-broker", "--partitions", String(partitions), "--bootstrap-file", file]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await waitUntil("the dev broker") { FileManager.default.fileExists(atPath: file) }
        bootstrap = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// A service binary started with an environment; its standard error is kept for assertions.
final class ServiceProcess: @unchecked Sendable {
    let process = Process()
    let stderr = Pipe()

    init(_ name: String, environment: [String: String]) throws {
        process.executableURL = try tandemBinary().deletingLastPathComponent().appendingPathComponent(name)
        var env = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("KAFKA_") && !$0.key.hasPrefix("TANDEM_")
        }
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        try process.run()
    }

    func waitForExit(timeout: Duration) async throws -> (status: Int32, stderr: String) {
        try await waitUntil("\(process.executableURL?.lastPathComponent ?? "service") to exit", timeout: timeout) {
            !process.isRunning
        }
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, text)
    }
}

func httpGet(_ url: String) async -> (status: Int, body: String)? {
    guard let url = URL(string: url) else { return nil }
    var request = URLRequest(url: url)
    request.timeoutInterval = 2
    guard let (data, response) = try? await URLSession.shared.data(for: request),
        let http = response as? HTTPURLResponse
    else { return nil }
    return (http.statusCode, String(decoding: data, as: UTF8.self))
}

/// Any HTTP request; nil when nothing answered.
func httpRequest(
    _ method: String,
    _ url: String,
    headers: [String: String] = [:],
    body: [UInt8]? = nil
) async -> (status: Int, headers: [String: String], body: String)? {
    guard let url = URL(string: url) else { return nil }
    var request = URLRequest(url: url)
    request.httpMethod = method
    request.timeoutInterval = 20
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if let body { request.httpBody = Data(body) }
    guard let (data, response) = try? await URLSession.shared.data(for: request),
        let http = response as? HTTPURLResponse
    else { return nil }
    var fields: [String: String] = [:]
    for (name, value) in http.allHeaderFields {
        if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
    }
    return (http.statusCode, fields, String(decoding: data, as: UTF8.self))
}

@Suite("service executables", .serialized, .timeLimit(.minutes(3)))
struct ServiceProcessTests {
    static let services = [
        ("tandem-intake", "intake"), ("tandem-segmentation", "segmentation"), ("tandem-leads", "leads"),
        ("tandem-kpi", "kpi"),
    ]

    @Test(arguments: services)
    func startsServesHealthAndMetricsAndStopsOnSIGTERMWithinTenSeconds(binary: String, name: String) async throws {
        let broker = try await DevBroker()
        defer { broker.stop() }
        let port = freePort()
        let service = try ServiceProcess(
            binary,
            environment: [
                "KAFKA_BROKERS": broker.bootstrap, "TANDEM_HTTP_PORT": String(port),
                "KAFKA_FETCH_WAIT_MAX_MS": "10", "TANDEM_GROUP_ID": "it-\(name)-\(UUID().uuidString.prefix(6))",
            ]
        )
        defer { if service.process.isRunning { service.process.terminate() } }

        try await waitUntil("\(binary) to answer /health/live") {
            await httpGet("http://127.0.0.1:\(port)/health/live")?.status == 200
        }
        try await waitUntil("\(binary) to be ready (partitions assigned, state restored)", timeout: .seconds(30)) {
            await httpGet("http://127.0.0.1:\(port)/health/ready")?.status == 200
        }
        let metrics = try #require(await httpGet("http://127.0.0.1:\(port)/metrics"))
        #expect(metrics.status == 200)
        #expect(await httpGet("http://127.0.0.1:\(port)/nothing")?.status == 404)

        let stopAsked = ContinuousClock.now
        service.process.terminate()  // SIGTERM
        let (status, log) = try await service.waitForExit(timeout: .seconds(10))
        #expect(status == 0, "stderr: \(log.suffix(2000))")
        #expect(ContinuousClock.now - stopAsked < .seconds(10))
        #expect(log.contains("stopped"))
    }

    @Test(arguments: [
        ("TANDEM_HTTP_PORT", "eighty"), ("TANDEM_WEBHOOK_MAX_BYTES", "lots"), ("TANDEM_WEBHOOK_TOKEN", ""),
    ])
    func aBadEnvironmentVariableStopsTheServiceNamingIt(variable: String, value: String) async throws {
        let service = try ServiceProcess("tandem-intake", environment: [variable: value])
        let (status, log) = try await service.waitForExit(timeout: .seconds(10))
        #expect(status == 2)
        #expect(log.contains("configuration error: \(variable)"))
    }

    @Test func aBadRulesFileStopsTheServiceNamingTheKey() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).yaml")
        try "segmentation:\n  tiers:\n    hihg: 70\n".write(to: file, atomically: true, encoding: .utf8)
        let service = try ServiceProcess("tandem-kpi", environment: ["TANDEM_RULES": file.path])
        let (status, log) = try await service.waitForExit(timeout: .seconds(10))
        #expect(status == 2)
        #expect(log.contains("TANDEM_RULES"))
        #expect(log.contains("segmentation.tiers.hihg"))
    }
}
