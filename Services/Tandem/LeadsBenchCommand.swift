import ArgumentParser
import CKafkaCeiling
import Foundation
import Kafka
import Leads
import Logging
import Models
import ServiceKit

/// `tandem bench leads`: interactions per second through the real lead-handoff service with a
/// 10,000-product catalog, and the memory its state takes per customer.
struct LeadsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leads",
        abstract:
            "Interactions per second through the leads processing loop (10,000-product catalog), and state bytes per customer.",
        discussion: """
            catalog: --products products (a fifth of them plans with varied fees and allowances, the rest
            add-ons, devices, roaming and services) on cs.catalog, read whole by the CatalogFeed before the clock
            starts.
            throughput: per customer a consenting profile and 3 bills (cs.accounts) are produced and processed
            first by one instance, which commits and stops (not timed); then --interactions-per-customer
            interactions per customer (a mix: plain inquiries, billing contacts that price every plan, resolved
            positive contacts with an interest signal, complaints, churn threats, declines) are produced to
            cs.interactions, and a second ProcessingLoop with a new LeadsProcessor in the same group restores
            the customers from the changelog and consumes them (decode, state, opportunities, contact policy,
            leads and suppressions published, changelog, commit). Interactions per second from the first
            interaction processed to the last, and per CPU-second of the whole process
            (`eventsPerCPUSecond`); median of the repeats.
            processor alone: the same setup and interactions through one LeadsProcessor in process (no
            broker; changelog changes encoded every 4,096 records as the loop does): interactions per
            CPU-second of the thread (`processorEventsPerCPUSecond`).
            memory: --memory-customers customers (profile, 3 bills, 2 contacts each) go through the same
            processor in process (no broker); bytesPerCustomer = growth of the malloc heap in use (glibc
            mallinfo2) ÷ customers, after the changelog's pending changes are flushed.
            """
    )

    @Option(help: "Customers in the throughput stream.")
    var customers = 100_000

    @Option(help: "Interactions per customer in the timed step.")
    var interactionsPerCustomer = 4

    @Option(help: "Products in the catalog.")
    var products = 10_000

    @Option(help: "Partitions per topic.")
    var partitions = 64

    @Option(help: "Repetitions of the throughput step (the median is reported).")
    var repeats = 3

    @Option(help: "Customers held in memory for the state-size measurement.")
    var memoryCustomers = 1_000_000

    @Option(help: "Customers in the processor-alone step (0: skip it).")
    var processorCustomers = 50_000

    @Flag(
        help:
            "Print a digest of every lead and suppression the processor-alone step published (to compare two builds; slows that step)."
    )
    var outputDigest = false

    @Flag(help: "Print one JSON object as the last line.")
    var json = false

    static let day: Int64 = 86_400_000
    static let base: Int64 = 1_772_323_200_000

    func run() async throws {
        var logger = Logger(label: "tandem.bench")
        logger.logLevel = .error
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let catalog = Self.catalog(products)
        let setup = Self.setup(customers: customers)
        let contacts = Self.interactions(customers: customers, perCustomer: interactionsPerCustomer)

        var rates: [Double] = []
        var cpuRates: [Double] = []
        var leads = 0
        var suppressed = 0
        for round in 1...max(repeats, 1) where repeats > 0 {
            let prefix = "bench\(round)."
            for topic in [
                "cs.interactions", "cs.accounts", "cs.segments", "cs.catalog", "cs.lead-outcomes", "cs.leads",
                "cs.lead-suppressions", "cs.leads.customers", "cs.deadletter",
            ] {
                try cluster.createTopic(prefix + topic, partitions: topic == "cs.catalog" ? 4 : partitions)
            }
            progress("[\(round)/\(repeats)] catalog and accounts…")
            try await produce(cluster, prefix: prefix, catalog.map { ("cs.catalog", $0.key, $0.value) } + setup, logger)
            let configuration = ServiceConfiguration(
                service: "leads",
                brokers: cluster.bootstrapServers,
                kafkaProperties: ["fetch.wait.max.ms": "10"],
                topicPrefix: prefix,
                groupID: "bench-leads-\(round)"
            )
            let table = CatalogTable()
            let feed = CatalogFeed(configuration: configuration, table: table, logger: logger)
            func makeLoop() throws -> (LeadsProcessor, ProcessingLoop<LeadsProcessor>) {
                let processor = LeadsProcessor(
                    configuration: configuration,
                    rules: .defaults,
                    catalog: table,
                    logger: logger
                )
                let loop = try ProcessingLoop(
                    configuration: configuration,
                    processor: processor,
                    deadLetterTopic: prefix + "cs.deadletter",
                    logger: logger
                )
                return (processor, loop)
            }
            let feeding = Task { try await feed.run() }
            // The accounts through a first instance, which commits and stops.
            let (_, setupLoop) = try makeLoop()
            let settingUp = Task { try await setupLoop.run() }
            try await waitFor(setupLoop, setup.count, "accounts")
            guard table.count == products else { throw BenchFailure("catalog: \(table.count) of \(products)") }
            setupLoop.stop()
            try await settingUp.value

            progress("[\(round)/\(repeats)] producing \(contacts.count) interactions…")
            try await produce(cluster, prefix: prefix, contacts, logger)
            // A second instance of the group restores the customers from the changelog (not timed),
            // then consumes the interactions, all already on the broker.
            progress("[\(round)/\(repeats)] leads…")
            let (processor, loop) = try makeLoop()
            let running = Task { try await loop.run() }
            let total = contacts.count
            let measured = try await LoopThroughput.measure(loop, total: total)
            loop.stop()
            try await running.value
            feeding.cancel()
            try await feeding.value
            guard loop.counts.recordsIn >= total, loop.counts.deadLetters.isEmpty else {
                throw BenchFailure("leads: \(loop.counts.recordsIn) of \(total) in, \(loop.counts.deadLetters)")
            }
            let rate = measured.perSecond
            rates.append(rate)
            cpuRates.append(measured.perCPUSecond)
            leads = processor.leadsMade
            suppressed = processor.suppressions.values.reduce(0, +)
            progress("[\(round)/\(repeats)] \(format(rate)) interactions/s\n")
        }

        var processorRate = 0.0
        if processorCustomers > 0 {
            progress("processor alone: \(processorCustomers) customers…")
            let alone = try Self.processorAlone(
                customers: processorCustomers,
                perCustomer: interactionsPerCustomer,
                partitions: partitions,
                catalog: catalog,
                digest: outputDigest
            )
            processorRate = alone.rate
            if outputDigest {
                print(
                    "processor alone: \(alone.leads) leads, \(alone.suppressions) suppressions, output digest \(String(alone.digest, radix: 16))"
                )
            }
        }
        progress("memory: \(memoryCustomers) customers…")
        let memory = Self.memory(customers: memoryCustomers, partitions: partitions, catalog: catalog)
        progress("")

        let eventsPerSecond = rates.isEmpty ? 0 : median(rates)
        let eventsPerCPUSecond = cpuRates.isEmpty ? 0 : median(cpuRates)
        print(
            "tandem bench leads: \(contacts.count) interactions of \(customers) customers, \(products) products, \(partitions) partitions, median of \(repeats)"
        )
        print(
            "throughput  \(format(eventsPerSecond)) interactions/s through ProcessingLoop + LeadsProcessor (last run: \(leads) leads, \(suppressed) suppressions); \(format(eventsPerCPUSecond)) per CPU-second of the process"
        )
        print(
            "processor   \(format(processorRate)) interactions per CPU-second of one thread (processor alone, no broker)"
        )
        print(
            "memory      \(memoryCustomers) customers: heap \(String(format: "%.0f", memory.heapPerCustomer)) B/customer, resident \(String(format: "%.0f", memory.residentPerCustomer)) B/customer (\(memory.heapBytes / 1_048_576) MiB heap)"
        )
        if json {
            let summary: [String: Double] = [
                "eventsPerSecond": eventsPerSecond.rounded(),
                "eventsPerCPUSecond": eventsPerCPUSecond.rounded(),
                "processorEventsPerCPUSecond": processorRate.rounded(),
                "bytesPerCustomer": memory.heapPerCustomer.rounded(),
                "residentBytesPerCustomer": memory.residentPerCustomer.rounded(),
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    private func waitFor(_ loop: ProcessingLoop<LeadsProcessor>, _ count: Int, _ what: String) async throws {
        let deadline = ContinuousClock.now + .seconds(600)
        while loop.counts.recordsIn < count {
            if ContinuousClock.now > deadline { throw BenchFailure("\(what): \(loop.counts.recordsIn) of \(count)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private func produce(
        _ cluster: EmbeddedKafkaCluster,
        prefix: String,
        _ records: [(topic: String, key: [UInt8], value: [UInt8])],
        _ logger: Logger
    ) async throws {
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "5"],
            logger: logger
        )
        var batch = ProducerBatch(reservingCapacity: records.count)
        for record in records { batch.append(topic: prefix + record.topic, key: record.key, value: record.value) }
        guard try await producer.send(batch).allDelivered else { throw BenchFailure("records not delivered") }
        await producer.close()
    }

    static func date(_ milliseconds: Int64) -> Date { Timestamp.date(millisecondsSince1970: milliseconds) }

    static let families = ["addon", "device", "roaming", "service"]

    /// `count` products: every fifth a plan (fee 18–297, allowances growing with the fee), the rest
    /// other families.
    static func catalog(_ count: Int) -> [(key: [UInt8], value: [UInt8])] {
        (0..<count).map { index in
            let id = "PR-\(index)"
            let product: Product
            if index % 5 == 0 {
                let fee = Double(18 + (index / 5) % 280)
                product = Product(
                    productId: id,
                    name: "Plan \(index)",
                    family: "plan",
                    monthlyFee: fee,
                    allowances: ["dataMB": fee * 200, "voiceMinutes": fee * 4],
                    overage: ["dataMB": 0.01, "voiceMinutes": 0.15],
                    availableFrom: date(base - 400 * day),
                    script: "Dear {{name}}, {{productName}} saves you {{saving}} a month."
                )
            } else {
                product = Product(
                    productId: id,
                    name: "Product \(index)",
                    family: families[index % families.count],
                    monthlyFee: Double(5 + index % 95),
                    availableFrom: date(base - 400 * day)
                )
            }
            return (Array(id.utf8), try! TandemJSON.encode(product))
        }
    }

    /// A consenting profile on one of the catalog's plans and 3 bills per customer.
    static func setup(customers: Int) -> [(topic: String, key: [UInt8], value: [UInt8])] {
        var records: [(topic: String, key: [UInt8], value: [UInt8])] = []
        records.reserveCapacity(customers * 4)
        for customer in 0..<customers {
            for event in accountEvents(customer) {
                records.append(("cs.accounts", Array("C-\(customer)".utf8), try! TandemJSON.encode(event)))
            }
        }
        return records
    }

    static func accountEvents(_ customer: Int) -> [AccountEvent] {
        let id = "C-\(customer)"
        var events: [AccountEvent] = [
            .profile(
                .init(
                    customerId: id,
                    at: date(base - 90 * day),
                    creditScore: Double(30 + customer % 70),
                    marketingConsent: customer % 10 != 0,
                    planId: "PR-\(5 * (customer % 2000))"
                )
            )
        ]
        for month in 1...3 {
            events.append(
                .bill(
                    .init(
                        customerId: id,
                        at: date(base - Int64(3 - month) * 30 * day),
                        period: "2026-0\(month)",
                        amount: 100,
                        usage: [
                            "dataMB": Double(2000 + (customer * 37 + month * 11) % 40_000),
                            "voiceMinutes": Double(50 + (customer * 13 + month) % 900),
                        ]
                    )
                )
            )
        }
        return events
    }

    /// Interactions, in time order, a day apart per round: 60 % plain inquiries, 15 % billing
    /// contacts, 10 % resolved csat-5 contacts with an interest signal, 8 % complaints, 4 % churn
    /// threats, 3 % declines.
    static func interactions(customers: Int, perCustomer: Int) -> [(topic: String, key: [UInt8], value: [UInt8])] {
        var records: [(topic: String, key: [UInt8], value: [UInt8])] = []
        records.reserveCapacity(customers * perCustomer)
        for round in 0..<perCustomer {
            for customer in 0..<customers {
                let interaction = contact(customer, round: round)
                records.append(("cs.interactions", Array("C-\(customer)".utf8), try! TandemJSON.encode(interaction)))
            }
        }
        return records
    }

    static func contact(_ customer: Int, round: Int) -> Interaction {
        let at = date(base + Int64(round + 1) * day + Int64(customer % 86_400) * 1000)
        var interaction = Interaction(
            eventId: "e-\(customer)-\(round)",
            occurredAt: at,
            receivedAt: at,
            channel: customer % 3 == 0 ? .wechat : .phone,
            kind: .inquiry,
            customerId: "C-\(customer)",
            topic: "network"
        )
        interaction.answered = true
        let pick = (customer * 7 + round * 31) % 100
        switch pick {
        case 0..<60: interaction.resolved = true
        case 60..<75:
            interaction.topic = "billing"
            interaction.resolved = true
        case 75..<85:
            interaction.resolved = true
            interaction.csat = 5
            interaction.signals = ["interest:\(families[customer % families.count])"]
        case 85..<93:
            interaction.kind = .complaint
            interaction.resolved = false
            interaction.sentiment = -0.5
        case 93..<97: interaction.signals = ["churn_threat"]
        default: interaction.signals = ["decline_marketing"]
        }
        return interaction
    }

    /// A processor holding the catalog, fed in process (no broker).
    static func inProcessProcessor(catalog: [(key: [UInt8], value: [UInt8])]) -> LeadsProcessor {
        let table = CatalogTable()
        let decoder = TandemJSON.decoder()
        for product in catalog {
            product.value.withUnsafeBytes { bytes in
                if case .success(let product) = CatalogTable.validate(key: nil, value: bytes, decoder: decoder) {
                    table.apply(product)
                }
            }
        }
        _ = table.takeArrivals()
        table.markRestored()
        return LeadsProcessor(
            configuration: ServiceConfiguration(service: "leads"),
            rules: .defaults,
            catalog: table,
            logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    /// Interactions per CPU-second of this thread through one processor: the accounts of
    /// `customers` first (not timed), then their interactions, the changelog's changes encoded
    /// every 4,096 records as the loop does.
    static func processorAlone(
        customers: Int,
        perCustomer: Int,
        partitions: Int,
        catalog: [(key: [UInt8], value: [UInt8])],
        digest: Bool = false
    ) throws -> (rate: Double, leads: Int, suppressions: Int, digest: UInt64) {
        let processor = inProcessProcessor(catalog: catalog)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func take(_ output: ProcessorOutput) {
            guard digest else { return }
            for record in output.records {
                for byte in Array(record.topic.utf8) + (record.key ?? []) + [0] + (record.value ?? []) + [0] {
                    hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
                }
            }
        }
        var offsets = [String: [Int64]]()
        var output = ProcessorOutput()
        var changes = ProducerBatch()
        func feed(_ records: [(topic: String, key: [UInt8], value: [UInt8])]) throws {
            for (index, record) in records.enumerated() {
                let customer = Int(String(decoding: record.key.dropFirst(2), as: UTF8.self)) ?? 0
                let partition = Int32(customer % partitions)
                let offset = offsets[record.topic, default: Array(repeating: 0, count: partitions)][Int(partition)]
                offsets[record.topic, default: Array(repeating: 0, count: partitions)][Int(partition)] += 1
                try record.key.withUnsafeBytes { key in
                    try record.value.withUnsafeBytes { value in
                        try processor.process(
                            InputRecord(
                                topic: record.topic,
                                partition: partition,
                                offset: offset,
                                timestamp: nil,
                                key: key,
                                value: value
                            ),
                            into: &output
                        )
                    }
                }
                if index % 4096 == 4095 {
                    take(output)
                    output = ProcessorOutput()
                    try processor.customers.appendChanges(to: &changes)
                    processor.customers.changesFlushed()
                    changes = ProducerBatch()
                }
            }
            take(output)
            output = ProcessorOutput()
            try processor.customers.appendChanges(to: &changes)
            processor.customers.changesFlushed()
            changes = ProducerBatch()
        }
        try feed(setup(customers: customers))
        let contacts = interactions(customers: customers, perCustomer: perCustomer)
        let started = threadCPUSeconds()
        try timedStep { try feed(contacts) }
        let elapsed = threadCPUSeconds() - started
        return (
            Double(contacts.count) / elapsed, processor.leadsMade, processor.suppressions.values.reduce(0, +), hash
        )
    }

    /// The timed step, under its own name in profiles.
    @inline(never)
    static func timedStep(_ body: () throws -> Void) rethrows { try body() }

    struct Memory {
        var heapBytes: Int
        var heapPerCustomer: Double
        var residentPerCustomer: Double
    }

    /// Heap and resident growth of a processor holding `customers` customers (the catalog is
    /// loaded before the first measurement, so it is not counted per customer).
    static func memory(customers: Int, partitions: Int, catalog: [(key: [UInt8], value: [UInt8])]) -> Memory {
        let processor = inProcessProcessor(catalog: catalog)
        _ = processor.catalog.snapshot()
        let heapBefore = heapInUse()
        let residentBefore = residentBytes()
        var offsets = [String: [Int64]]()
        for customer in 0..<customers {
            let partition = Int32(customer % partitions)
            var records: [(String, [UInt8])] = accountEvents(customer).map {
                ("cs.accounts", try! TandemJSON.encode($0))
            }
            for round in 0..<2 {
                records.append(("cs.interactions", try! TandemJSON.encode(contact(customer, round: round))))
            }
            let key = Array("C-\(customer)".utf8)
            for (topic, value) in records {
                var output = ProcessorOutput()
                let offset = offsets[topic, default: Array(repeating: 0, count: partitions)][Int(partition)]
                offsets[topic, default: Array(repeating: 0, count: partitions)][Int(partition)] += 1
                key.withUnsafeBytes { key in
                    value.withUnsafeBytes { value in
                        try? processor.process(
                            InputRecord(
                                topic: topic,
                                partition: partition,
                                offset: offset,
                                timestamp: nil,
                                key: key,
                                value: value
                            ),
                            into: &output
                        )
                    }
                }
            }
            if customer % 4096 == 4095 { processor.customers.changesFlushed() }
        }
        processor.customers.changesFlushed()
        let heap = heapInUse() - heapBefore
        let resident = residentBytes() - residentBefore
        withExtendedLifetime(processor) {}
        return Memory(
            heapBytes: heap,
            heapPerCustomer: Double(heap) / Double(customers),
            residentPerCustomer: Double(resident) / Double(customers)
        )
    }
}
