import ArgumentParser
import Foundation
import KPI
import Kafka
import Models
import ServiceKit

/// `tandem bench kpi`: the KPI service's hot path and the memory of a day window.
struct KPIBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kpi",
        abstract: "KPI aggregation: events per second with every dimension on, and the memory of a day's windows.",
        discussion: """
            eventsPerSecond: interactions as they arrive on cs.interactions (~450-byte JSON, every field the
            KPIs read, a channel, a department, a tier from cs.segments, one of --topics topics and one of
            --queues queues), through KPIProcessor.process on one core: decode, tier join, repeat-contact
            history, counters added to minute, hour and day windows of six dimensions. Every --batch records the
            state stores' changes are encoded as the loop would write them to their changelogs, and about once
            a second the processor ticks (closing windows, encoding partials). Kafka I/O is not included (see
            `tandem bench kit` for the loop's own cost). Median of --repeats.
            eventsPerCPUSecond: the same events per second of the process's CPU time, a steadier figure when
            other processes share the cores.
            dayWindowBytes: the heap bytes (resident set growth, averaged over 64 copies) that one input partition's counters of one day
            window take with every channel, department and tier, --queues queues and --topics topics, from all
            four counted input topics.
            """
    )

    @Option(help: "Events per repetition.")
    var records: Int = 400_000

    @Option(help: "Distinct queues.")
    var queues: Int = 1000

    @Option(help: "Distinct topics.")
    var topics: Int = 50

    @Option(help: "Distinct customers.")
    var customers: Int = 20_000

    @Option(help: "Records per processing batch (changelog flush).")
    var batch: Int = 4096

    @Option(help: "Repetitions (the median is reported).")
    var repeats: Int = 3

    @Flag(help: "Print one JSON object as the last line.")
    var json = false

    func validate() throws {
        guard records > 0, queues > 0, topics > 0, customers > 0, batch > 0, repeats > 0 else {
            throw ValidationError("every option must be positive")
        }
    }

    /// 2026-11-25T08:00:00Z.
    static let base: Int64 = 1_795_593_600_000

    func events() -> [[UInt8]] {
        let channels = ["phone", "chat", "wechat", "app", "email", "sms", "store"]
        let kinds = ["inquiry", "request", "complaint", "follow_up", "survey"]
        let departments = ["service", "after_sales", "product", "store"]
        // Two hours of event time: minute windows open and close all through the run.
        return (0..<records).map { index in
            let time = Timestamp.format(
                Timestamp.date(millisecondsSince1970: Self.base + Int64(index) * 7_200_000 / Int64(records))
            )!
            let kind = kinds[index % kinds.count]
            var json =
                #"{"eventId":"e\#(index)","occurredAt":"\#(time)","receivedAt":"\#(time)","channel":"\#(channels[index % channels.count])","channelGroup":"contact","escalation":false,"kind":"\#(kind)","customerId":"c\#(index % customers)","department":"\#(departments[index % 4])","topic":"t\#(index % topics)","queue":"q\#(index * 7 % queues)","agentId":"a\#(index % 300)","waitSeconds":\#(index % 60),"answered":\#(index % 5 != 0),"handleSeconds":\#(60 + index % 600),"resolved":\#(index % 3 != 0),"transfers":\#(index % 4 == 0 ? 1 : 0),"sentiment":\#(Double(index % 11 - 5) / 5)"#
            if kind == "survey" {
                json += #","csat":\#(1 + index % 5),"effort":\#(1 + index % 5),"nps":\#(index % 11)"#
            }
            return Array((json + "}").utf8)
        }
    }

    func run() async throws {
        // First, while the heap is fresh: freed memory reused later would hide the growth.
        let day = dayWindowBytes()
        let events = events()
        let averageBytes = events.reduce(0) { $0 + $1.count } / events.count
        var rates: [Double] = []
        var cpuRates: [Double] = []
        for round in 1...repeats {
            let rate = throughput(events)
            rates.append(rate.wall)
            cpuRates.append(rate.cpu)
            FileHandle.standardError.write(
                Data("[\(round)/\(repeats)] \(Int(rate.wall)) events/s, \(Int(rate.cpu)) per CPU second\n".utf8)
            )
        }
        rates.sort()
        cpuRates.sort()
        let eventsPerSecond = rates[rates.count / 2]
        let eventsPerCPUSecond = cpuRates[cpuRates.count / 2]
        print(
            "tandem bench kpi: \(records) events (~\(averageBytes) B), \(queues) queues, \(topics) topics, \(customers) customers, one core, median of \(repeats)"
        )
        print(
            "throughput  \(Int(eventsPerSecond)) events/s, \(Int(eventsPerCPUSecond)) per CPU second (decode, join, 3 windows × 6 dimensions, changelog encoding)"
        )
        print(
            "day window  \(day.bytes) bytes on the heap for \(day.cells) cells (\(day.bytes / max(day.cells, 1)) B per window × dimension value × input topic), one input partition"
        )
        if json {
            let summary: [String: Double] = [
                "eventsPerSecond": eventsPerSecond.rounded(),
                "eventsPerCPUSecond": eventsPerCPUSecond.rounded(),
                "dayWindowBytes": Double(day.bytes),
                "dayWindowCells": Double(day.cells),
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// Events per second through a fresh processor, one partition.
    /// Events per wall-clock second and per second of this process's CPU time (on a shared
    /// machine the second shows the code's cost when other processes take the cores).
    func throughput(_ events: [[UInt8]]) -> (wall: Double, cpu: Double) {
        let configuration = ServiceConfiguration(service: "kpi")
        let processor = KPIProcessor(configuration: configuration, rules: .defaults, partitionCount: 1)
        processor.partitionsAssigned([0])
        // The tier table, as cs.segments would fill it.
        for customer in 0..<customers {
            let segment = Array(
                #"{"customerId":"c\#(customer)","tier":"\#(["high", "mid", "low"][customer % 3])"}"#.utf8
            )
            var output = ProcessorOutput()
            segment.withUnsafeBytes { value in
                try? processor.process(
                    InputRecord(
                        topic: "cs.segments",
                        partition: 0,
                        offset: Int64(customer),
                        timestamp: nil,
                        key: nil,
                        value: value
                    ),
                    into: &output
                )
            }
        }
        flush(processor)
        let start = ContinuousClock.now
        let cpuStart = processCPUSeconds()
        var lastTick = start
        var output = ProcessorOutput()
        var changelog = ProducerBatchSink()
        for (index, event) in events.enumerated() {
            event.withUnsafeBytes { value in
                do throws(ProcessingFailure) {
                    try processor.process(
                        InputRecord(
                            topic: "cs.interactions",
                            partition: 0,
                            offset: Int64(index),
                            timestamp: nil,
                            key: nil,
                            value: value
                        ),
                        into: &output
                    )
                } catch {
                    // Counted as processed: a dead letter is an output too.
                }
            }
            if (index + 1) % batch == 0 {
                changelog.flush(processor)
                output = ProcessorOutput()
                if ContinuousClock.now - lastTick >= .seconds(1) {
                    lastTick = .now
                    processor.tick(wallNow: Int64(Date().timeIntervalSince1970 * 1000), into: &output)
                }
            }
        }
        changelog.flush(processor)
        let seconds =
            Double((ContinuousClock.now - start).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - start).components.seconds)
        let cpu = processCPUSeconds() - cpuStart
        return (Double(events.count) / seconds, Double(events.count) / cpu)
    }

    private func flush(_ processor: KPIProcessor) {
        var sink = ProducerBatchSink()
        sink.flush(processor)
    }

    /// The heap bytes of one day window's cells with every dimension value.
    func dayWindowBytes() -> (bytes: Int, cells: Int) {
        let counting = KPICounting(rules: Rules.defaults.kpi)
        var raw = RawInteraction()
        raw.answered = true
        raw.waitSeconds = 12
        raw.handleSeconds = 240
        raw.resolved = true
        raw.csat = 5
        raw.sentiment = 0.3
        let counters = counting.interaction(raw, channel: .phone, kind: .inquiry, isRepeat: false)
        var values: [(KPIDimension, String)] = [(.overall, "all")]
        values += Channel.allCases.map { (.channel, $0.rawValue) }
        values += Department.allCases.map { (.department, $0.rawValue) }
        values += ["high", "mid", "low", "unknown"].map { (.tier, $0) }
        values += (0..<topics).map { (.topic, "t\($0)") }
        values += (0..<queues).map { (.queue, "q\($0)") }
        // Resident memory moves in pages: build the same day window for 64 partitions and divide.
        let copies: Int32 = 64
        let before = residentBytes()
        let store = CellStore(changelogTopic: "cs.kpi.windows")
        var cells = 0
        for partition in 0..<copies {
            for source in UInt8(0)...3 {
                // Leads, outcomes and suppressions are counted by overall and tier only.
                for (dimension, value) in values where source == 0 || dimension == .overall || dimension == .tier {
                    let key = CellKey(source: source, size: .day, start: Self.base, dimension: dimension, value: value)
                    store.add(counters, to: key, partition: partition, offset: 1)
                    if partition == 0 { cells += 1 }
                }
            }
        }
        store.changesFlushed()
        let bytes = (residentBytes() - before) / Int(copies)
        withExtendedLifetime(store) {}
        return (bytes, cells)
    }
}

/// Encodes the stores' pending changes as the loop does before writing them to the changelogs.
struct ProducerBatchSink {
    var records = 0

    mutating func flush(_ processor: KPIProcessor) {
        var changes = ProducerBatch()
        for store in processor.stores where store.hasChanges {
            try? store.appendChanges(to: &changes)
        }
        for store in processor.stores { store.changesFlushed() }
        records += changes.count
    }
}
