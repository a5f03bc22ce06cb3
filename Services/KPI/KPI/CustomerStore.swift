import Foundation
public import Kafka
public import ServiceKit

/// Each customer's tier and recent contacts (``CustomerState``), per partition, backed by the
/// changelog `cs.kpi.customers` as `{"o":0,"v":"<compact state>"}` — the envelope of
/// ``KeyedStateStore`` written by hand, because one is written per changed customer per batch.
///
/// Replays need no offsets here: a contact in the history carries its own input offset.
///
/// - Important: not thread-safe; used only from its ``ProcessingLoop``'s task.
public final class CustomerStore: StateStore, @unchecked Sendable {
    public let changelogTopic: String
    private var tables: [Int32: [String: CustomerState]] = [:]
    private var dirty: [Int32: Set<String>] = [:]
    private let decoder = JSONDecoder()

    public init(changelogTopic: String) {
        self.changelogTopic = changelogTopic
    }

    public func get(_ customer: String, partition: Int32) -> CustomerState? { tables[partition]?[customer] }

    public func put(_ customer: String, _ state: CustomerState, partition: Int32) {
        tables[partition, default: [:]][customer] = state
        dirty[partition, default: []].insert(customer)
    }

    /// Customers held in a partition.
    public func count(partition: Int32) -> Int { tables[partition]?.count ?? 0 }

    public var hasChanges: Bool { dirty.values.contains { !$0.isEmpty } }

    public func appendChanges(to batch: inout ProducerBatch) throws {
        var value: [UInt8] = []
        for (partition, customers) in dirty {
            guard let table = tables[partition] else { continue }
            for customer in customers {
                guard let state = table[customer] else { continue }
                value.removeAll(keepingCapacity: true)
                value.append(contentsOf: #"{"o":0,"v":""#.utf8)
                state.compactBytes(into: &value)
                value.append(contentsOf: #""}"#.utf8)
                batch.append(topic: changelogTopic, partition: partition, key: Array(customer.utf8), value: value)
            }
        }
    }

    public func changesFlushed() {
        dirty.removeAll(keepingCapacity: true)
    }

    private struct Envelope: Decodable {
        var v: String
    }

    public func apply(changelogRecord record: ConsumerRecordView) throws {
        guard let customer = record.withUnsafeKey({ $0.map { String(decoding: $0, as: UTF8.self) } }) else { return }
        guard let bytes = record.value else {
            tables[record.partition]?[customer] = nil
            return
        }
        let envelope = try decoder.decode(Envelope.self, from: Data(bytes))
        guard let state = CustomerState(compact: envelope.v) else { return }
        tables[record.partition, default: [:]][customer] = state
    }

    public func prepare(partition: Int32) {
        tables[partition] = [:]
        dirty[partition] = nil
    }

    public func drop(partition: Int32) {
        tables[partition] = nil
        dirty[partition] = nil
    }
}
