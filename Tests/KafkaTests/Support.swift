import Foundation
import Kafka
import Logging
import Synchronization
import Testing

/// One embedded cluster per test process: cheap to share, and every test uses its own topics and groups.
enum TestCluster {
    static let shared: EmbeddedKafkaCluster = {
        do {
            return try EmbeddedKafkaCluster(
                brokers: 1,
                logger: Logger(label: "test.mock", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        } catch {
            fatalError("embedded cluster did not start: \(error)")
        }
    }()
}

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A name no other test uses.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8))"
}

func producerConfiguration(_ cluster: EmbeddedKafkaCluster, _ extra: [String: String] = [:]) -> KafkaConfiguration {
    KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers].merging(extra) { _, new in new })
}

func consumerConfiguration(
    _ cluster: EmbeddedKafkaCluster,
    group: String,
    _ extra: [String: String] = [:]
) -> KafkaConfiguration {
    KafkaConfiguration(
        [
            "bootstrap.servers": cluster.bootstrapServers,
            "group.id": group,
            "fetch.wait.max.ms": "10",
            "session.timeout.ms": "6000",
            "heartbeat.interval.ms": "300",
        ].merging(extra) { _, new in new }
    )
}

/// A thread-safe box for what a background consumer task has seen.
final class Collected<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    init(_ value: Value) { state = Mutex(value) }
    func update<R>(_ body: (inout Value) -> R) -> R { state.withLock { body(&$0) } }
    var value: Value { state.withLock { $0 } }
}

/// A record seen by a test consumer.
struct Seen: Hashable, Sendable {
    var partition: Int32
    var offset: Int64
    var key: String
    var value: String
}

/// Produces `count` records `key-<i % keys>` → `value-<i>` and returns their reports.
@discardableResult
func produce(
    _ producer: KafkaProducer,
    topic: String,
    count: Int,
    keys: Int = 100,
    start: Int = 0,
    headers: [KafkaHeader] = []
) async throws -> DeliveryReports {
    var batch = ProducerBatch(reservingCapacity: count)
    for index in start..<(start + count) {
        batch.append(
            topic: topic,
            key: Array("key-\(index % keys)".utf8),
            value: Array("value-\(index)".utf8),
            headers: headers
        )
    }
    let reports = try await producer.send(batch)
    if let error = reports.firstError { throw error }
    #expect(reports.allDelivered)
    return reports
}
