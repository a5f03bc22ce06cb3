import Foundation
import Kafka
import ServiceKit
import Testing

/// The dedup window's store: its changelog written to and restored from the embedded broker.
@Suite("id window store")
struct IdWindowStoreTests {
    let cluster: EmbeddedKafkaCluster
    let topic = uniqueName("dedup")

    init() throws {
        cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quietLogger)
        try cluster.createTopic(topic, partitions: 2)
    }

    /// Writes the store's pending changes (as the loop does) and returns how many records they took.
    @discardableResult
    func flush(_ store: IdWindowStore) async throws -> Int {
        var batch = ProducerBatch()
        try store.appendChanges(to: &batch)
        store.changesFlushed()
        try await send(batch)
        return batch.count
    }

    func send(_ batch: ProducerBatch) async throws {
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers],
            logger: quietLogger
        )
        #expect(try await producer.send(batch).allDelivered)
        await producer.close()
    }

    /// A new store restored from everything on the changelog, as the loop restores on assignment.
    func restored() async throws -> (store: IdWindowStore, failures: [String]) {
        let store = IdWindowStore(name: "dedup", changelogTopic: topic)
        let consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
            logger: quietLogger
        )
        var ends: [Int32: Int64] = [:]
        for partition in Int32(0)..<2 {
            store.prepare(partition: partition)
            ends[partition] = try await consumer.queryWatermarks(topic: topic, partition: partition).high
        }
        try consumer.assign((0..<2).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) })
        var next: [Int32: Int64] = [0: 0, 1: 0]
        var failures: [String] = []
        let deadline = ContinuousClock.now + .seconds(20)
        for await event in consumer.events {
            if case .records(let batch) = event {
                for record in batch {
                    do {
                        try store.apply(changelogRecord: record)
                    } catch {
                        failures.append("\(error)")
                    }
                    next[record.partition] = record.offset + 1
                }
            }
            if next.allSatisfy({ $0.value >= ends[$0.key]! }) || ContinuousClock.now > deadline { break }
        }
        await consumer.close()
        #expect(next.allSatisfy { $0.value >= ends[$0.key]! }, "the changelog was read to its end")
        return (store, failures)
    }

    @Test func oneRecordPerPartitionAndFlushCarriesEveryIdAndARestoreGetsThemBack() async throws {
        let store = IdWindowStore(name: "dedup", changelogTopic: topic)
        for index in 0..<1000 {
            store.put(
                "event-\(index)",
                1_700_000_000_000 + Int64(index),
                partition: Int32(index % 2),
                offset: Int64(index)
            )
        }
        #expect(store.hasChanges)
        #expect(try await flush(store) == 2)
        #expect(!store.hasChanges)
        store.put("event-0", 1_800_000_000_000, partition: 0, offset: 5000)  // the same id again, later
        store.put("日本-ü", 42, partition: 1, offset: 5001)
        #expect(try await flush(store) == 2)

        let (copy, failures) = try await restored()
        #expect(failures.isEmpty)
        #expect(copy.count(partition: 0) == 500)
        #expect(copy.count(partition: 1) == 501)
        #expect(copy.lookup("event-0", partition: 0)! == (1_800_000_000_000, 5000))
        #expect(copy.lookup("event-999", partition: 1)! == (1_700_000_000_999, 999))
        #expect(copy.lookup("日本-ü", partition: 1)! == (42, 5001))
        #expect(copy.get("event-1", partition: 0) == nil, "ids stay in their partition")
        #expect(!copy.hasChanges, "a restore writes nothing")
    }

    @Test func putIfAbsentAddsNewIdsOnlyAndTheChangelogCarriesWhatItAdded() async throws {
        let store = IdWindowStore(name: "dedup", changelogTopic: topic)
        #expect(store.putIfAbsent("a", 10, partition: 0, offset: 1) == nil)
        #expect(store.putIfAbsent("b", 20, partition: 1, offset: 2) == nil)
        // Already remembered: what is remembered comes back, and nothing changes.
        #expect(store.putIfAbsent("a", 99, partition: 0, offset: 3)! == (10, 1))
        #expect(store.lookup("a", partition: 0)! == (10, 1))
        // Ids are per partition.
        #expect(store.putIfAbsent("a", 30, partition: 1, offset: 4) == nil)
        #expect(store.count(partition: 0) == 1)
        #expect(store.count(partition: 1) == 2)
        #expect(try await flush(store) == 2)

        let (copy, failures) = try await restored()
        #expect(failures.isEmpty)
        #expect(copy.lookup("a", partition: 0)! == (10, 1), "the refused put wrote nothing")
        #expect(copy.lookup("a", partition: 1)! == (30, 4))
        #expect(copy.lookup("b", partition: 1)! == (20, 2))
    }

    @Test func removingWritesNothingAndLargeBatchesAreSplitIntoBoundedRecords() async throws {
        let store = IdWindowStore(name: "dedup", changelogTopic: topic)
        store.maxRecordBytes = 4096
        for index in 0..<2000 { store.put("id-\(index)", Int64(index), partition: 0, offset: Int64(index)) }
        var batch = ProducerBatch()
        try store.appendChanges(to: &batch)
        store.changesFlushed()
        #expect(batch.count > 1, "2,000 ids of ~24 bytes do not fit one 4 KiB record")
        #expect(batch.count < 20)
        try await send(batch)
        store.remove("id-0", partition: 0)
        #expect(store.get("id-0", partition: 0) == nil)
        #expect(!store.hasChanges, "forgetting an id writes no tombstone")

        let (copy, failures) = try await restored()
        #expect(failures.isEmpty)
        #expect(copy.count(partition: 0) == 2000, "the changelog still has it: the owner's expiry forgets it again")
    }

    @Test func perKeyRecordsOfTheOlderStoreAreRestoredAndUnreadableRecordsAreClearErrors() async throws {
        func int64s(_ values: Int64...) -> [UInt8] {
            values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        }
        var batch = ProducerBatch()
        // KeyedStateStore<Int64> with the int64 codec: key = id, value = offset + event time.
        batch.append(topic: topic, partition: 0, key: Array("old-1".utf8), value: int64s(7, 1_000))
        batch.append(topic: topic, partition: 0, key: Array("old-2".utf8), value: int64s(8, 2_000))
        batch.append(topic: topic, partition: 0, key: Array("old-2".utf8), value: nil)  // tombstone
        // Unreadable: an unknown format, a truncated entry, an id longer than the record, bad UTF-8.
        batch.append(topic: topic, partition: 1, key: nil, value: [9, 1, 2, 3])
        batch.append(topic: topic, partition: 1, key: nil, value: [1] + int64s(1, 2))
        batch.append(topic: topic, partition: 1, key: nil, value: [1] + int64s(1, 2) + [200, 0, 65])
        batch.append(topic: topic, partition: 1, key: nil, value: [1] + int64s(1, 2) + [2, 0, 0xC3, 0x28])
        batch.append(topic: topic, partition: 1, key: Array("old-3".utf8), value: [1, 2, 3])
        try await send(batch)
        let writer = IdWindowStore(name: "dedup", changelogTopic: topic)
        writer.put("new-1", 3_000, partition: 1, offset: 9)
        try await flush(writer)

        let (copy, failures) = try await restored()
        #expect(copy.lookup("old-1", partition: 0)! == (1_000, 7))
        #expect(copy.get("old-2", partition: 0) == nil)
        #expect(copy.lookup("new-1", partition: 1)! == (3_000, 9), "readable records after bad ones still count")
        #expect(failures.count == 5)
        #expect(failures.allSatisfy { $0.contains("store dedup: the changelog record at partition 1") })
        #expect(copy.count(partition: 1) == 1, "nothing of an unreadable record is applied")
    }
}
