import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `tandem bench pipeline` with tiny settings: the four real services on the embedded broker,
/// a few seconds of traffic; its JSON line parses with positive figures and no service is left
/// running.
@Suite("tandem bench pipeline", .serialized, .timeLimit(.minutes(2)))
struct PipelineBenchTests {
    @Test func tinyRunPrintsPositiveFiguresAndStopsEveryService() async throws {
        let basePort = 19_191
        let (status, output) = try run(
            try tandemBinary().path,
            [
                "bench", "pipeline", "--rate", "200", "--seconds", "2", "--customers", "100", "--flood", "1000",
                "--partitions", "2", "--base-port", String(basePort), "--json",
            ]
        )
        #expect(status == 0)
        let last = try #require(output.split(separator: "\n").last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        for key in ["maxEventsPerSecond", "p50Ms", "p99Ms", "leadP99Ms", "kpiP99Ms"] {
            let value = try #require(object[key] as? Double, "\(key) missing")
            #expect(value > 0, "\(key) = \(value)")
        }
        #expect((object["kpiPairs"] as? Int ?? 0) > 0)
        #expect((object["leadPairs"] as? Int ?? 0) > 0)
        let cpu = try #require(object["cpuMicrosPerEvent"] as? [String: Double])
        #expect(cpu.keys.filter { $0.hasPrefix("tandem-") }.count == 4)
        // Every service was stopped: none of their health endpoints answers any more.
        for port in basePort..<(basePort + 4) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/health/live")!)
            request.timeoutInterval = 2
            let answer = try? await URLSession.shared.data(for: request)
            #expect(answer == nil, "a service still answers on port \(port)")
        }
    }
}
