import Foundation
import Kafka
import Leads
import Logging
import Models
import ServiceKit
import TestSupport
import Testing

/// The stories of the lead-handoff issue on the embedded broker: the real ``ProcessingLoop`` with
/// a ``LeadsProcessor`` and the ``CatalogFeed`` holding `cs.catalog` whole.
@Suite("leads on the embedded broker", .serialized, .timeLimit(.minutes(3)))
struct LeadsEndToEndTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let topics = [
        "cs.interactions", "cs.accounts", "cs.segments", "cs.catalog", "cs.lead-outcomes", "cs.leads",
        "cs.lead-suppressions", "cs.leads.customers", "cs.deadletter",
    ]

    /// One instance of the service: a loop, its processor and its catalog feed.
    final class Instance: @unchecked Sendable {
        let processor: LeadsProcessor
        let loop: ProcessingLoop<LeadsProcessor>
        let feed: CatalogFeed
        let loopTask: Task<Void, any Error>
        let feedTask: Task<Void, any Error>

        init(bootstrap: String, group: String) throws {
            let configuration = ServiceConfiguration(
                service: "leads",
                brokers: bootstrap,
                kafkaProperties: ["fetch.wait.max.ms": "10"],
                groupID: group
            )
            let catalog = CatalogTable()
            feed = CatalogFeed(configuration: configuration, table: catalog, logger: quiet)
            processor = LeadsProcessor(configuration: configuration, rules: .defaults, catalog: catalog, logger: quiet)
            loop = try ProcessingLoop(
                configuration: configuration,
                processor: processor,
                deadLetterTopic: "cs.deadletter",
                logger: quiet
            )
            let loop = loop
            let feed = feed
            feedTask = Task { try await feed.run() }
            loopTask = Task { try await loop.run() }
        }

        func waitForInput(_ count: Int) async throws {
            try await waitUntil("\(count) records processed") { loop.counts.recordsIn >= count }
        }

        func stop() async throws {
            loop.stop()
            try await loopTask.value
            feedTask.cancel()
            try await feedTask.value
        }
    }

    final class Running: @unchecked Sendable {
        let cluster: EmbeddedKafkaCluster
        var instance: Instance
        var sent = 0

        init(partitions: Int32 = 3) throws {
            cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quiet)
            for topic in topics { try cluster.createTopic(topic, partitions: Int(partitions)) }
            instance = try Instance(bootstrap: cluster.bootstrapServers, group: "leads-\(UUID().uuidString.prefix(6))")
        }

        var processor: LeadsProcessor { instance.processor }

        /// Sends the records and waits until the loop processed them (catalog records: until the
        /// table holds them).
        func send(_ records: [Input]) async throws {
            let producer = try KafkaProducer(
                configuration: ["bootstrap.servers": cluster.bootstrapServers],
                logger: quiet
            )
            var batch = ProducerBatch()
            for record in records {
                batch.append(topic: record.topic, key: record.key.map { Array($0.utf8) }, value: record.value)
            }
            #expect(try await producer.send(batch).allDelivered)
            await producer.close()
            let catalog = records.filter { $0.topic == "cs.catalog" }.count
            sent += records.count - catalog
            try await instance.waitForInput(sent)
            if catalog > 0 {
                let table = instance.feed.table
                try await waitUntil("catalog") { table.count + table.rejected >= catalog }
            }
        }

        func stop() async throws {
            try await instance.stop()
            cluster.shutdown()
        }

        /// Every record of a topic, from the beginning, until three quiet seconds.
        func read<Record: Decodable>(_ topic: String, as: Record.Type) async throws -> [Record] {
            let consumer = try KafkaConsumer(
                configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
                idleEventInterval: .seconds(2),
                logger: quiet
            )
            try consumer.assign((0..<3).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) })
            var records: [Record] = []
            eventLoop: for await event in consumer.events {
                switch event {
                case .records(let batch):
                    for record in batch.map(\.record) {
                        records.append(try TandemJSON.decode(Record.self, from: record.value ?? []))
                    }
                case .idle: break eventLoop
                default: continue
                }
            }
            await consumer.close()
            return records
        }
    }

    static let roamingAndDevices = [
        Fixtures.roaming, Fixtures.roamingCheap,
        Product(productId: "D1", name: "Phone", family: "device", monthlyFee: 99, availableFrom: date(-400)),
    ]

    @Test(
        "Overpaying: one plan_fit lead for the cheapest fitting plan with the right saving; a replay after a restart adds nothing"
    )
    func overpaying() async throws {
        let running = try Running()
        try await running.send(standardPlans.map(Records.product))
        try await running.send([Records.profile("c1", at: -90, consent: true), Records.segment("c1", at: -90)])
        try await running.send(Records.bills("c1"))
        try await running.send([Records.contact("c1", "e1", at: 3, topic: "billing")])
        #expect(running.processor.leadsMade == 1)

        let leads = try await running.read("cs.leads", as: Lead.self)
        #expect(leads.count == 1)
        let lead = try #require(leads.first)
        #expect(lead.type == .planFit && lead.productId == "P58" && lead.productName == "Smart 58")
        #expect(lead.estimatedMonthlySaving == 92)
        #expect(lead.script == "Hello customer, Smart 58 saves you 92.00 CNY a month.")
        #expect(lead.reason.contains("150.00") && lead.reason.contains("58.00"))
        let suppressions = try await running.read("cs.lead-suppressions", as: LeadSuppression.self)
        #expect(suppressions.map(\.reason) == [.duplicateOpen])

        // Replay: a new instance in a new group reads every input again after restoring the state
        // from the changelogs: no new lead id, no second copy.
        try await running.instance.stop()
        running.instance = try Instance(bootstrap: running.cluster.bootstrapServers, group: "leads-replay")
        try await running.instance.waitForInput(running.sent)
        #expect(running.processor.leadsMade == 0)
        #expect(running.processor.replayed == running.sent)
        #expect(try await running.read("cs.leads", as: Lead.self) == leads)
        #expect(try await running.read("cs.lead-suppressions", as: LeadSuppression.self) == suppressions)
        try await running.stop()
    }

    @Test(
        "First resolve, then recommend: an open complaint suppresses; a resolved csat-5 contact with interest yields cross_sell"
    )
    func firstResolveThenRecommend() async throws {
        let running = try Running()
        try await running.send((standardPlans + Self.roamingAndDevices).map(Records.product))
        try await running.send([
            Records.profile("c1", at: -90, consent: true, plan: "P58"), Records.segment("c1", at: -90),
        ])
        try await running.send(Records.bills("c1"))
        try await running.send([
            Records.contact("c1", "complaint", at: 1, kind: .complaint, topic: "network", resolved: false),
            Records.contact("c1", "threat", at: 2, topic: "network", resolved: false, signals: ["churn_threat"]),
            Records.contact(
                "c1",
                "upset",
                at: 2.5,
                topic: "roaming",
                resolved: false,
                csat: 5,
                signals: ["interest:roaming"]
            ),
            Records.contact(
                "c1",
                "resolved",
                at: 3,
                channel: .chat,
                topic: "network",
                resolved: true,
                csat: 5,
                signals: ["interest:roaming"]
            ),
        ])
        let suppressions = try await running.read("cs.lead-suppressions", as: LeadSuppression.self)
        #expect(suppressions.map(\.reason) == [.openComplaint])
        #expect(suppressions.first?.type == .retention && suppressions.first?.triggerEventId == "threat")
        let leads = try await running.read("cs.leads", as: Lead.self)
        #expect(leads.map(\.type) == [.crossSell])
        #expect(leads.first?.productId == "R20")
        #expect(leads.first?.triggerEventId == "resolved")
        #expect(leads.first?.followUp.assignee == .inContact && leads.first?.followUp.channel == .chat)
        try await running.stop()
    }

    @Test(
        "Churn threat, no product yet: no lead; a fitting product within 30 days yields retention; after 30 days none"
    )
    func churnThreatNoProductYet() async throws {
        let running = try Running()
        try await running.send([Records.product(Fixtures.p38)])
        try await running.send([
            Records.profile("a", at: -90, consent: true, plan: "P38"),
            Records.profile("b", at: -90, consent: true, plan: "P38"),
        ])
        // b uses three times as much: 27,000 MB and 750 minutes.
        try await running.send(Records.bills("a") + Records.bills("b", scale: 3))
        try await running.send([
            Records.contact("a", "threat-a", at: 0, signals: ["churn_threat"]),
            Records.contact("b", "threat-b", at: 0, signals: ["churn_threat"]),
        ])
        #expect(running.processor.leadsMade == 0)

        // P88 (20,000 MB, 500 min) from day 20 fits a, not b; a 150 plan from day 31 fits b, too late.
        var p88 = Fixtures.p88
        p88.availableFrom = date(20)
        var late = Fixtures.p150
        late.productId = "P150N"
        late.availableFrom = date(31)
        try await running.send([Records.product(p88), Records.product(late)])
        let processor = running.processor
        try await waitUntil("the retention lead") { processor.leadsMade >= 1 }
        let leads = try await running.read("cs.leads", as: Lead.self)
        #expect(leads.count == 1)
        let lead = try #require(leads.first)
        #expect(lead.customerId == "a" && lead.type == .retention && lead.productId == "P88")
        #expect(lead.createdAt == date(20))
        #expect(lead.triggerEventId == "threat-a")
        #expect(try await running.read("cs.deadletter", as: DeadLetter.self).isEmpty)
        try await running.stop()
    }

    @Test("Over-marketing: declines, repeated declines, opt-out, missing consent, escalation and caps")
    func overMarketing() async throws {
        let running = try Running()
        try await running.send((standardPlans + Self.roamingAndDevices).map(Records.product))
        func interest(_ customer: String, _ id: String, at: Double, _ family: String = "roaming") -> Input {
            Records.contact(
                customer,
                id,
                at: at,
                topic: "network",
                resolved: true,
                csat: 5,
                signals: ["interest:\(family)"]
            )
        }
        try await running.send([
            Records.profile("d1", at: -90, consent: true), Records.segment("d1", at: -90),
            Records.profile("r2", at: -90, consent: true, plan: "P58"), Records.segment("r2", at: -90, tier: .high),
            Records.profile("o3", at: -90, consent: true, plan: "P58"),
            Records.profile("n4", at: -90, consent: false, plan: "P58"),
            Records.profile("e6", at: -90, consent: true, plan: "P58"), Records.segment("e6", at: -90, tier: .high),
            Records.profile("c7", at: -90, consent: true, plan: "P58"), Records.segment("c7", at: -90, tier: .low),
        ])
        try await running.send(Records.bills("d1"))
        let declined = LeadEngine.leadId(customerId: "d1", type: .planFit, productId: "P58", trigger: "bill:d1:2026-03")
        try await running.send([Records.outcome("d1", lead: declined, at: 1, .declined)])
        try await running.send([
            // d1: nothing for 14 days, no plan_fit for 90 days, another type after 14 days.
            interest("d1", "d1-5", at: 5),
            Records.contact("d1", "d1-20", at: 20, topic: "billing"),
            interest("d1", "d1-21", at: 21),
            // r2: two declines within 90 days silence marketing for 180 days.
            Records.contact("r2", "r2-0", at: 0, signals: ["decline_marketing"]),
            Records.contact("r2", "r2-30", at: 30, signals: ["decline_marketing"]),
            interest("r2", "r2-100", at: 100),
            // o3: an opt-out, n4: no consent, n5: no profile at all.
            Records.contact("o3", "o3-0", at: 0, signals: ["opt_out"]),
            interest("o3", "o3-1", at: 1),
            interest("n4", "n4-1", at: 1),
            interest("n5", "n5-1", at: 1),
            // e6: a 12315 hotline escalation blocks 30 days.
            Records.contact("e6", "e6-0", at: 0, channel: .hotline12315, kind: .complaint, resolved: true),
            interest("e6", "e6-10", at: 10),
            interest("e6", "e6-31", at: 31),
            // c7: the low tier's cap is one lead per 30 days.
            interest("c7", "c7-1", at: 1),
            interest("c7", "c7-2", at: 2, "device"),
            interest("c7", "c7-31", at: 31, "device"),
        ])
        let suppressions = try await running.read("cs.lead-suppressions", as: LeadSuppression.self)
        let reasons = Dictionary(grouping: suppressions, by: \.triggerEventId).mapValues { $0.map(\.reason) }
        #expect(reasons["d1-5"] == [.recentDecline])
        #expect(reasons["d1-20"] == [.declinedType])
        #expect(reasons["r2-100"] == [.repeatedDecline])
        #expect(reasons["o3-1"] == [.optedOut])
        #expect(reasons["n4-1"] == [.noConsent])
        #expect(reasons["n5-1"] == [.noConsent])
        #expect(reasons["e6-10"] == [.escalation])
        #expect(reasons["c7-2"] == [.frequencyCap])
        #expect(suppressions.count == 8)
        let leads = try await running.read("cs.leads", as: Lead.self)
        #expect(Set(leads.map(\.triggerEventId)) == ["bill:d1:2026-03", "d1-21", "e6-31", "c7-1", "c7-31"])
        try await running.stop()
    }
}
