import Foundation
import Kafka
import Logging
import Models
import TestSupport
import Testing

/// The real `tandem-leads` binary killed with SIGKILL mid-stream and restarted: the same input
/// creates no new lead ids and no second copy of a lead.
@Suite("tandem-leads processes", .serialized, .timeLimit(.minutes(4)))
struct LeadsProcessTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let topics = [
        "cs.interactions", "cs.accounts", "cs.segments", "cs.catalog", "cs.lead-outcomes", "cs.leads",
        "cs.lead-suppressions", "cs.leads.customers", "cs.deadletter",
    ]
    static let day: Int64 = 86_400_000
    static let base: Int64 = 1_772_323_200_000

    static func date(_ millis: Int64) -> Date { Timestamp.date(millisecondsSince1970: millis) }

    static func plan(_ id: String, fee: Double, data: Double, voice: Double) -> (key: String, value: [UInt8]) {
        let product = Product(
            productId: id,
            name: "Plan \(id)",
            family: "plan",
            monthlyFee: fee,
            allowances: ["dataMB": data, "voiceMinutes": voice],
            overage: ["dataMB": 0.01, "voiceMinutes": 0.2],
            availableFrom: date(base - 400 * day)
        )
        return (id, try! TandemJSON.encode(product))
    }

    /// Per customer on one topic (so in order): a consenting profile on P150, then three bills whose
    /// usage fits P58; the third bill makes one plan_fit lead.
    static func stream(customers: Int) -> [(key: String, value: [UInt8])] {
        var records: [(key: String, value: [UInt8])] = []
        for customer in 0..<customers {
            let id = "C-\(customer)"
            let profile = AccountEvent.profile(
                .init(
                    customerId: id,
                    at: date(base - 90 * day),
                    creditScore: 80,
                    marketingConsent: true,
                    planId: "P150"
                )
            )
            records.append((id, try! TandemJSON.encode(profile)))
        }
        for month in 1...3 {
            for customer in 0..<customers {
                let id = "C-\(customer)"
                let bill = AccountEvent.bill(
                    .init(
                        customerId: id,
                        at: date(base + Int64(month) * 30 * day),
                        period: "2026-0\(month)",
                        amount: 150,
                        usage: ["dataMB": 9000, "voiceMinutes": 250]
                    )
                )
                records.append((id, try! TandemJSON.encode(bill)))
            }
        }
        return records
    }

    static func send(
        _ cluster: EmbeddedKafkaCluster,
        topic: String,
        _ records: ArraySlice<(key: String, value: [UInt8])>
    )
        async throws
    {
        let producer = try KafkaProducer(configuration: ["bootstrap.servers": cluster.bootstrapServers], logger: quiet)
        var batch = ProducerBatch()
        for record in records { batch.append(topic: topic, key: Array(record.key.utf8), value: record.value) }
        #expect(try await producer.send(batch).allDelivered)
        await producer.close()
    }

    @Test func killedMidStreamThenRestartedMakesEveryLeadOnceWithTheSameIds() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        for topic in Self.topics { try cluster.createTopic(topic, partitions: 4) }
        try await Self.send(
            cluster,
            topic: "cs.catalog",
            [
                Self.plan("P150", fee: 150, data: 30_000, voice: 1000),
                Self.plan("P58", fee: 58, data: 10_000, voice: 300),
            ][...]
        )
        let group = "leads-\(UUID().uuidString.prefix(6))"
        let outputs = try KitProcessTests.Outputs(cluster: cluster, topic: "cs.leads", partitions: 4)
        let first = try GroupMember("tandem-leads", cluster: cluster, group: group)
        defer { first.terminate() }
        try await first.waitReady()

        let customers = 600
        let records = Self.stream(customers: customers)
        // Half of the third bills (the ones that make leads) are held back until after the kill, so
        // the kill always lands mid-stream however fast the machine.
        let held = records.count - customers / 2
        let streaming = Task {
            for chunk in stride(from: 0, to: held, by: 100) {
                try await Self.send(cluster, topic: "cs.accounts", records[chunk..<min(chunk + 100, held)])
            }
        }
        try await waitUntil("a third of the leads", timeout: .seconds(60)) { outputs.all.count >= customers / 3 }
        first.kill9()
        let beforeKill = outputs.all.count
        try await streaming.value
        try await Self.send(cluster, topic: "cs.accounts", records[held...])

        let second = try GroupMember("tandem-leads", cluster: cluster, group: group)
        defer { second.terminate() }
        try await waitUntil("every customer's lead", timeout: .seconds(90)) { outputs.all.count >= customers }
        // Every input committed: nothing more can come out of this stream.
        let reader = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "group.id": group],
            logger: Self.quiet
        )
        let all = (0..<4).map { TopicPartition(topic: "cs.accounts", partition: Int32($0)) }
        try await waitUntil("the group to commit all of cs.accounts", timeout: .seconds(60)) {
            try await reader.uncommitted(all).isEmpty
        }
        // Every lead on the topic is read (a second copy would be there by now).
        var published: Int64 = 0
        for partition in 0..<4 {
            published += try await reader.queryWatermarks(topic: "cs.leads", partition: Int32(partition)).high
        }
        await reader.close()
        let total = Int(published)
        try await waitUntil("the lead reader to catch up", timeout: .seconds(20)) { outputs.all.count >= total }
        second.terminate()
        await outputs.stop()

        let leads = outputs.all.compactMap { try? TandemJSON.decode(Lead.self, from: $0) }
        #expect(beforeKill < customers, "the kill came after every lead: the test proved nothing")
        #expect(leads.count == customers, "a lead was published twice or lost")
        #expect(Set(leads.map(\.leadId)).count == customers)
        #expect(Set(leads.map(\.customerId)).count == customers)
        #expect(leads.allSatisfy { $0.type == .planFit && $0.productId == "P58" && $0.estimatedMonthlySaving == 92 })
        #expect(leads.allSatisfy { $0.triggerEventId == "bill:\($0.customerId):2026-03" })
    }
}
