import Foundation
import Models
import TestSupport
import Testing

/// The real `tandem` binary, built next to this test bundle by `swift test`.
func tandemBinary() throws -> URL {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let binary = directory.appendingPathComponent("tandem")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        throw IntegrationFailure("no tandem binary at \(binary.path): run `swift build` first")
    }
    return binary
}

struct IntegrationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command to completion and returns its exit status and standard output.
func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("tandem dev-broker", .timeLimit(.minutes(1)))
struct DevBrokerTests {
    @Test func reachableByKcatFromAnotherProcessAndStopsOnSIGTERM() async throws {
        let bootstrapFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tandem-bootstrap-\(UUID().uuidString)"
        ).path
        let broker = Process()
        broker.executableURL = try tandemBinary()
        broker.arguments = ["dev-broker", "--partitions", "4", "--bootstrap-file", bootstrapFile]
        let stdout = Pipe()
        broker.standardOutput = stdout
        broker.standardError = FileHandle.nullDevice
        try broker.run()
        defer { if broker.isRunning { broker.terminate() } }

        try await waitUntil("the bootstrap file") { FileManager.default.fileExists(atPath: bootstrapFile) }
        let bootstrap = try String(contentsOfFile: bootstrapFile, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines
        )
        #expect(bootstrap.hasPrefix("127.0.0.1:"))

        let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let kcatPath = try #require(kcat, "kcat is not installed (Debian package kcat; .ci/run installs it)")
        let (status, metadata) = try run(kcatPath, ["-L", "-b", bootstrap, "-m", "10"])
        #expect(status == 0)
        #expect(metadata.contains("1 brokers:"))
        for topic in Topics.all {
            #expect(metadata.contains("topic \"\(topic.name)\" with 4 partitions"))
        }

        broker.terminate()  // SIGTERM
        broker.waitUntilExit()
        #expect(broker.terminationStatus == 0)
        let firstLine = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(
            separator: "\n"
        ).first
        #expect(firstLine.map(String.init) == bootstrap)
        #expect(!FileManager.default.fileExists(atPath: bootstrapFile))
    }
}
