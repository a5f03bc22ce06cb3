import Foundation
import Kafka
import Logging
import Models
import TestSupport
import Testing

/// The real `tandem-segmentation` binary: killed with SIGKILL mid-stream, and two instances in a group.
@Suite("tandem-segmentation processes", .serialized, .timeLimit(.minutes(4)))
struct SegmentationProcessTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let topics = ["cs.accounts", "cs.interactions", "cs.segments", "cs.segmentation.customers", "cs.deadletter"]
    static let day: Int64 = 86_400_000

    static func date(_ millis: Int64) -> Date { Timestamp.date(millisecondsSince1970: millis) }

    static func cluster() throws -> EmbeddedKafkaCluster {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quiet)
        for topic in topics { try cluster.createTopic(topic, partitions: 4) }
        return cluster
    }

    /// A profile, then `bills` monthly bills of 100, 110, 120, … (each changes ARPU, so each
    /// event makes one segment version), for `customers` customers, interleaved by month.
    static func stream(customers: Int, bills: Int, base: Int64) -> [(key: String, value: [UInt8])] {
        var records: [(key: String, value: [UInt8])] = []
        for customer in 0..<customers {
            let id = "C-\(customer)"
            let profile = AccountEvent.profile(
                .init(
                    customerId: id,
                    at: Self.date(base),
                    region: customer % 2 == 0 ? "310000" : "540200",
                    creditScore: 70
                )
            )
            records.append((id, try! TandemJSON.encode(profile)))
        }
        for month in 0..<bills {
            for customer in 0..<customers {
                records.append(bill("C-\(customer)", month: month, base: base))
            }
        }
        return records
    }

    static func bill(_ customer: String, month: Int, base: Int64) -> (key: String, value: [UInt8]) {
        let period = String(format: "2025-%02d", month + 1)
        let event = AccountEvent.bill(
            .init(
                customerId: customer,
                at: Self.date(base + Int64(month + 1) * day),
                period: period,
                amount: 100 + 10 * Double(month)
            )
        )
        return (customer, try! TandemJSON.encode(event))
    }

    static func send(_ cluster: EmbeddedKafkaCluster, _ records: ArraySlice<(key: String, value: [UInt8])>) async throws
    {
        let producer = try KafkaProducer(configuration: ["bootstrap.servers": cluster.bootstrapServers], logger: quiet)
        var batch = ProducerBatch()
        for record in records { batch.append(topic: "cs.accounts", key: Array(record.key.utf8), value: record.value) }
        _ = try await producer.send(batch)
        await producer.close()
    }

    static func decode(_ outputs: [String]) -> [CustomerSegment] {
        outputs.compactMap { try? TandemJSON.decode(CustomerSegment.self, from: $0) }
    }

    @Test func killedMidStreamThenRestartedResumesEveryCustomerWhereItStopped() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let group = "segmentation-\(UUID().uuidString.prefix(6))"
        let outputs = try KitProcessTests.Outputs(cluster: cluster, topic: "cs.segments", partitions: 4)
        let first = try GroupMember("tandem-segmentation", cluster: cluster, group: group)
        defer { first.terminate() }
        try await first.waitReady()

        // 500 customers × (a profile + 6 bills) = 3,500 events, each one segment version.
        let customers = 500
        let base = Int64(Date().timeIntervalSince1970 * 1000) - 10 * Self.day
        let records = Self.stream(customers: customers, bills: 6, base: base)
        // The last third is held back until after the kill, so the kill always lands mid-stream.
        let held = records.count * 2 / 3
        let streaming = Task {
            for chunk in stride(from: 0, to: held, by: 100) {
                try await Self.send(cluster, records[chunk..<min(chunk + 100, held)])
            }
        }
        try await waitUntil("a third of the stream segmented", timeout: .seconds(60)) {
            outputs.all.count >= records.count / 3
        }
        first.kill9()
        let publishedBeforeKill = outputs.all.count
        try await streaming.value
        try await Self.send(cluster, records[held...])

        let second = try GroupMember("tandem-segmentation", cluster: cluster, group: group)
        defer { second.terminate() }
        try await waitUntil("every version published after the restart", timeout: .seconds(90)) {
            Self.decode(outputs.all).count >= records.count
        }
        // The next event of every customer is the next version, computed on the restored state.
        try await Self.send(cluster, Self.stream(customers: customers, bills: 7, base: base).suffix(customers)[...])
        try await waitUntil("version 8 of every customer", timeout: .seconds(60)) {
            Self.decode(outputs.all).count >= records.count + customers
        }
        try await waitUntil("the restarted instance to be ready") {
            await httpGet("http://127.0.0.1:\(second.port)/health/ready")?.status == 200
        }
        let segments = Self.decode(outputs.all)
        #expect(publishedBeforeKill < records.count, "the kill came after the whole stream: the test proved nothing")
        let byCustomer = Dictionary(grouping: segments, by: \.customerId)
        #expect(byCustomer.count == customers)
        for (customer, mine) in byCustomer {
            // Every version once, in order, none lost and none twice: no reset after the restart.
            #expect(mine.map(\.version) == Array(1...8), "\(customer)")
            // After bills 100 … 160 (2025-01 … 2025-07): ARPU (140 + 150 + 160) / 3 = 150.
            #expect(mine.last?.arpu == 150, "\(customer)")
            #expect(mine.last?.changed == ["score", "arpu", "tags.spend"] || mine.last?.changed == ["score", "arpu"])
        }
        second.terminate()
        await outputs.stop()
    }

    @Test func twoInstancesSplitTheCustomersAndAgreeWithOne() async throws {
        let base = Int64(Date().timeIntervalSince1970 * 1000) - 10 * Self.day
        let records = Self.stream(customers: 300, bills: 4, base: base)

        func run(instances: Int) async throws -> [String] {
            let cluster = try Self.cluster()
            defer { cluster.shutdown() }
            let group = "segmentation-\(UUID().uuidString.prefix(6))"
            let outputs = try KitProcessTests.Outputs(cluster: cluster, topic: "cs.segments", partitions: 4)
            let members = try (0..<instances).map { _ in
                try GroupMember("tandem-segmentation", cluster: cluster, group: group)
            }
            defer { members.forEach { $0.terminate() } }
            for member in members { try await member.waitReady() }
            try await Self.send(cluster, records[...])
            try await waitUntil("every version published", timeout: .seconds(90)) {
                outputs.all.count >= records.count
            }
            for member in members {
                try await waitUntil("the instance on port \(member.port) to report processed records") {
                    await httpGet("http://127.0.0.1:\(member.port)/metrics")?.body.contains("tandem_records_in_total")
                        == true
                }
            }
            members.forEach { $0.terminate() }
            let all = outputs.all
            await outputs.stop()
            return all
        }

        let one = try await run(instances: 1)
        let two = try await run(instances: 2)
        #expect(one.count == records.count)
        #expect(two.count == records.count)
        // The same records, byte for byte (the order across partitions aside).
        #expect(one.sorted() == two.sorted())
    }
}
