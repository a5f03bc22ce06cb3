import ArgumentParser
import Dispatch
import Foundation
import Kafka
import Logging
import Models
import Simulator
import Synchronization

/// `tandem simulate`: realistic, seeded traffic against any cluster, and a marketing team
/// answering the leads the suite makes.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract:
            "Send realistic customer-service and marketing traffic to a cluster; the same seed gives the same stream.",
        discussion: """
            First the history, as fast as the broker takes it: the product catalog (cs.catalog), a profile per \
            customer and --history-months of bills and purchases (cs.accounts). Then live traffic paced at --rate \
            records a second, event times from --start on: contacts over every channel, surveys, follow-ups, \
            complaints and escalations, opinion posts (cs.interactions.raw), purchases, profile changes and monthly \
            bills (cs.accounts). Unless --no-marketing, a marketing team reads cs.leads from its end and answers \
            each lead on cs.lead-outcomes once the stream's event time reaches the outcome's time.
            Progress goes to standard error once a second. SIGINT or SIGTERM stops it cleanly (flush, close, exit 0).
            """
    )

    @Option(help: "Bootstrap servers (default: KAFKA_BROKERS, else 127.0.0.1:9092).")
    var brokers: String = ProcessInfo.processInfo.environment["KAFKA_BROKERS"] ?? "127.0.0.1:9092"

    @Option(help: "Prefix for every topic name (default: TANDEM_TOPIC_PREFIX).")
    var prefix: String = ProcessInfo.processInfo.environment["TANDEM_TOPIC_PREFIX"] ?? ""

    @Option(help: "Live records per second, paced in real time (event time advances by 1/rate per record).")
    var rate: Double = 50

    @Option(help: "Seconds of live traffic after the history; 0 runs until SIGINT/SIGTERM.")
    var duration: Double = 0

    @Option(help: "Number of customers.")
    var customers: Int = 1000

    @Option(help: "Seed of every random draw.")
    var seed: UInt64 = 1

    @Option(help: "Event time of the first live record, RFC 3339 (default: now).")
    var start: String?

    @Option(help: "Share of live raw interactions deliberately invalid (0–1), for dead letters.")
    var invalidShare: Double = 0.005

    @Option(help: "Months of bills before --start.")
    var historyMonths: Int = 6

    @Flag(help: "Do not read cs.leads nor answer leads on cs.lead-outcomes.")
    var noMarketing = false

    @Flag(help: "Print a JSON summary as the last line.")
    var json = false

    func validate() throws {
        guard rate > 0, rate <= 1_000_000 else { throw ValidationError("--rate must be in (0, 1000000]") }
        guard duration >= 0 else { throw ValidationError("--duration must be ≥ 0") }
        guard customers >= 1, customers <= 10_000_000 else { throw ValidationError("--customers must be 1–10000000") }
        guard (0...1).contains(invalidShare) else { throw ValidationError("--invalid-share must be 0–1") }
        guard (0...24).contains(historyMonths) else { throw ValidationError("--history-months must be 0–24") }
        if let start {
            guard let date = Timestamp.parse(start) else { throw ValidationError("--start must be RFC 3339") }
            let year = Calendar(identifier: .gregorian).component(.year, from: date)
            guard (2000...2100).contains(year) else { throw ValidationError("--start must be in years 2000–2100") }
        }
    }

    func run() async throws {
        var logger = Logger(label: "tandem.simulate")
        logger.logLevel = .warning
        let startDate = start.flatMap(Timestamp.parse) ?? Date()
        var generator = TrafficGenerator(
            seed: seed,
            start: startDate,
            customers: customers,
            rate: rate,
            invalidShare: invalidShare,
            historyMonths: historyMonths
        )
        let stop = TerminationSignals()
        stop.install()
        let producer = try KafkaProducer(configuration: ["bootstrap.servers": brokers], logger: logger)
        let deliveries = DeliveryCounter()
        let (deliveryStream, deliveryInput) = AsyncStream<Delivery>.makeStream()
        let counting = Task { await deliveries.count(deliveryStream) }

        let marketing =
            noMarketing
            ? nil
            : try MarketingDesk(
                brokers: brokers,
                prefix: prefix,
                topic: prefix + Topics.leads.name,
                team: MarketingTeam(catalog: generator.catalog),
                logger: logger
            )

        var sent: [String: Int] = [:]
        var history = 0
        var live = 0
        var outcomes = 0
        var invalid = 0
        var liveStart: ContinuousClock.Instant?
        var pendingOutcomes: [LeadOutcome] = []
        var pendingRecord: SimulatedRecord?
        let clock = ContinuousClock()
        let began = clock.now
        var lastProgress = began
        var lastProgressCount = 0

        while !stop.isSet {
            let now = clock.now
            if let liveStart, duration > 0, now - liveStart >= .seconds(duration) { break }
            var budget = 2000
            if let liveStart {
                let elapsed = (now - liveStart).seconds
                budget = min(budget, Int(elapsed * rate) + 1 - live)
            }
            var batch = ProducerBatch(reservingCapacity: max(0, budget))
            while budget > 0 {
                let record = pendingRecord ?? generator.next()
                pendingRecord = nil
                if !record.isHistory && liveStart == nil {
                    // The history is out: live traffic is paced from here.
                    pendingRecord = record
                    liveStart = clock.now
                    break
                }
                batch.append(
                    topic: prefix + record.topic.name,
                    key: Array(record.key.utf8),
                    value: record.value,
                    timestamp: Int64((record.eventTime.timeIntervalSince1970 * 1000).rounded())
                )
                sent[record.topic.name, default: 0] += 1
                if record.isHistory { history += 1 } else { live += 1 }
                if record.isDeliberatelyInvalid { invalid += 1 }
                budget -= 1
            }
            if let marketing {
                pendingOutcomes += marketing.takeOutcomes()
                pendingOutcomes.sort {
                    ($0.at, $0.leadId, $0.outcome.rawValue) < ($1.at, $1.leadId, $1.outcome.rawValue)
                }
                let eventNow = generator.clock
                let due = pendingOutcomes.prefix { $0.at <= eventNow }
                for outcome in due {
                    batch.append(
                        topic: prefix + Topics.leadOutcomes.name,
                        key: Array(outcome.customerId.utf8),
                        value: try TandemJSON.encode(outcome),
                        timestamp: Int64((outcome.at.timeIntervalSince1970 * 1000).rounded())
                    )
                    sent[Topics.leadOutcomes.name, default: 0] += 1
                    outcomes += 1
                }
                pendingOutcomes.removeFirst(due.count)
            }
            if !batch.isEmpty {
                deliveryInput.yield(await producer.enqueue(batch))
            } else {
                try? await Task.sleep(for: .milliseconds(5))
            }
            let total = history + live + outcomes
            if clock.now - lastProgress >= .seconds(1) {
                let seconds = (clock.now - lastProgress).seconds
                let perTopic = sent.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                let line =
                    "sent \(total) (\(perTopic)); \(Int((Double(total - lastProgressCount) / seconds).rounded())) records/s"
                    + (liveStart == nil ? ", history" : "") + (marketing.map { ", leads read \($0.leadsRead)" } ?? "")
                FileHandle.standardError.write(Data((line + "\n").utf8))
                lastProgress = clock.now
                lastProgressCount = total
            }
        }
        if let signal = stop.received {
            FileHandle.standardError.write(Data("\(signal) received, stopping\n".utf8))
        }
        let liveSeconds = liveStart.map { (clock.now - $0).seconds } ?? 0
        await marketing?.close()
        var flushError: KafkaError?
        do {
            try await producer.flush()
        } catch {
            flushError = error
        }
        deliveryInput.finish()
        await counting.value
        await producer.close()
        let (acknowledged, failed, firstError) = await deliveries.totals()
        if let error = firstError ?? flushError {
            FileHandle.standardError.write(Data("delivery failed: \(error)\n".utf8))
        }
        if json {
            let summary: [String: Any] = [
                "records": sent,
                "history": history,
                "live": live,
                "invalid": invalid,
                "leadOutcomes": outcomes,
                "leadsRead": marketing?.leadsRead ?? 0,
                "outcomesPending": pendingOutcomes.count,
                "acknowledged": acknowledged,
                "failed": failed,
                "liveSeconds": (liveSeconds * 1000).rounded() / 1000,
                "liveRate": liveSeconds > 0 ? (Double(live) / liveSeconds * 10).rounded() / 10 : 0,
                "targetRate": rate,
                "seconds": ((clock.now - began).seconds * 1000).rounded() / 1000,
                "seed": seed,
                "start": Timestamp.format(startDate) ?? "",
                "customers": customers,
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
        if failed > 0 || flushError != nil { throw ExitCode(1) }
    }
}

/// Waits for every batch's acknowledgements and counts them.
private actor DeliveryCounter {
    private var acknowledged = 0
    private var failed = 0
    private var firstError: KafkaError?

    func count(_ deliveries: AsyncStream<Delivery>) async {
        for await delivery in deliveries {
            let reports = await delivery.reports()
            acknowledged += reports.count - reports.failureCount
            failed += reports.failureCount
            if firstError == nil { firstError = reports.firstError }
        }
    }

    func totals() -> (Int, Int, KafkaError?) { (acknowledged, failed, firstError) }
}

/// The marketing team's desk: reads `cs.leads` from its end (a consumer group that never commits,
/// with `auto.offset.reset=latest`) and decides each lead's outcomes.
private final class MarketingDesk: Sendable {
    private let consumer: KafkaConsumer
    private let inbox = LeadInbox()
    private let reader: Task<Void, Never>

    init(brokers: String, prefix: String, topic: String, team: MarketingTeam, logger: Logger) throws {
        consumer = try KafkaConsumer(
            configuration: [
                "bootstrap.servers": brokers, "group.id": "\(prefix)tandem-simulate-marketing",
                "auto.offset.reset": "latest",
            ],
            logger: logger
        )
        try consumer.subscribe(topics: [topic])
        let consumer = self.consumer
        let inbox = self.inbox
        reader = Task {
            for await record in consumer.records {
                guard let value = record.value, let lead = try? TandemJSON.decode(Lead.self, from: value),
                    (try? lead.validate(now: Date())) != nil
                else {
                    logger.warning("lead skipped: not a valid Lead", metadata: ["kafka.offset": "\(record.offset)"])
                    continue
                }
                inbox.add(team.outcomes(for: lead))
            }
        }
    }

    var leadsRead: Int { inbox.leadsRead }

    func takeOutcomes() -> [LeadOutcome] { inbox.take() }

    func close() async {
        await consumer.close()
        await reader.value
    }
}

/// Outcomes decided and not yet sent, handed from the reader task to the send loop.
private final class LeadInbox: Sendable {
    private let outcomes = Mutex<[LeadOutcome]>([])
    private let count = Atomic<Int>(0)

    var leadsRead: Int { count.load(ordering: .relaxed) }

    func add(_ decided: [LeadOutcome]) {
        count.add(1, ordering: .relaxed)
        outcomes.withLock { $0 += decided }
    }

    func take() -> [LeadOutcome] {
        outcomes.withLock { outcomes in
            defer { outcomes.removeAll() }
            return outcomes
        }
    }
}
