import Foundation
import Metrics
public import Models
public import ServiceKit

/// `tandem-kpi`: the numbers managers and wallboards watch, the 7×24 opinion report and the
/// spike alerts (SPEC §5), in two stages of one processor.
///
/// **Stage 1, per input partition** (`cs.interactions`, `cs.leads`, `cs.lead-outcomes`,
/// `cs.lead-suppressions`; `cs.segments` feeds the tier table): every record adds additive
/// counters to a cell per (source topic, window, dimension value) in ``cells``. A cell remembers
/// the offset of the last record it holds, so a record replayed after a crash is not added twice
/// to a cell whose change reached the changelog. Once a second (``tick(wallNow:into:)``), when
/// the partition's event time (which follows the wall clock on an idle partition) passes a
/// window's end + grace, the partition publishes its *final partial* of that window on
/// `cs.kpi.partials`, deletes the window's cells and records the window as closed; a record for a
/// closed window is dead-lettered as `late`. Then it tells every merger how far it has closed
/// (a *watermark*). Open windows send throttled non-final partials, at the end of a batch
/// (``batchProcessed(wallNow:into:)``) or on the tick, whichever comes first once the throttle allows.
///
/// **Stage 2, per partition of `cs.kpi.partials`**: the merger keeps each window's partials by
/// source partition (a partial sent again replaces, never adds) and publishes the window's final
/// records on `cs.kpi` once every input partition's watermark has passed its end + grace; the
/// hour windows (all on one merger) also give the hourly and rolling-24 h opinion reports and
/// the alerts. A partial is a pure function of its partition's input, so a crash or a rebalance
/// re-creates identical partials, and the final records are the same whatever the instances.
///
/// - Important: used only from its ``ProcessingLoop``'s task, one call at a time.
public final class KPIProcessor: RecordProcessor, @unchecked Sendable {
    /// The input topics whose records are counted; the code is part of the cell key.
    enum Source: UInt8 {
        case interactions = 0
        case leads = 1
        case outcomes = 2
        case suppressions = 3
    }

    public let inputTopics: [String]
    let interactionsTopic: String
    let segmentsTopic: String
    let leadsTopic: String
    let outcomesTopic: String
    let suppressionsTopic: String
    /// The internal topic between the stages.
    public let partialsTopic: String
    public let kpiTopic: String
    public let reportTopic: String
    public let alertsTopic: String

    /// Open windows' counters per input partition (`cs.kpi.windows`).
    public let cells: CellStore
    /// Tier and recent contacts per customer (`cs.kpi.customers`).
    public let customers: CustomerStore
    /// `closed|<size>` (stage 1) and `wm|<source>|<size>` (stage 2) event times (`cs.kpi.marks`).
    public let marks: KeyedStateStore<Int64>
    /// The merger's partials `<size>|<start>|<source>` and hour history `hist|<start>` (`cs.kpi.merge`).
    public let merge: KeyedStateStore<MergePart>
    public var stores: [any StateStore] { [cells, customers, marks, merge] }

    /// The input topics' partition count (the partials topic has as many).
    public let partitionCount: Int32
    let rules: Rules
    let counting: KPICounting
    let reports: Reports
    let calendar: WindowCalendar
    /// Event time per counted input topic (by ``Source``) and partition. A partition closes a
    /// window once every one of its topics seen so far has passed the window's end + grace, so
    /// which topic the consumer happens to read first cannot make another topic's records late.
    var clocks: [EventTimeClock<String>]
    let idleMilliseconds: Int64
    let repeatMilliseconds: Int64
    /// The wall clock, ms since the epoch. Tests set it.
    public var wallClock: () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    // Stage 1, per input partition.
    private var owned = Set<Int32>()
    private var closed: [Int32: [KPIWindowSize: Int64]] = [:]
    private var changed: [Int32: Set<WindowRef>] = [:]
    /// The window last inserted into ``changed`` per size: consecutive events mostly share it.
    private var lastChanged: [ChangedMark?] = [nil, nil, nil]
    struct ChangedMark: Equatable {
        var partition: Int32
        var start: Int64
    }
    private var lastUpdate: [Int32: [KPIWindowSize: Int64]] = [:]
    private var assignedAt: [Int32: Int64] = [:]
    // Stage 2, per partials partition.
    private var pending: [Int32: [WindowRef: Set<Int32>]] = [:]
    private var watermarks: [Int32: [Int32: [KPIWindowSize: Int64]]] = [:]
    private var dirtySnapshots: [Int32: Set<WindowRef>] = [:]
    private var lastSnapshot: [WindowRef: Int64] = [:]

    private let decoder = FastJSONDecoder()
    private let plainDecoder = JSONDecoder()
    private let jsonDecoder = TandemJSON.decoder()
    private let segmentFields = FastStringFieldsReader(fields: ["customerId", "tier"])
    private let suppressionReader = FastLeadSuppressionReader()

    /// Final KPI records published (each window × dimension value once, unless a crash made the
    /// merger publish an identical one again).
    public private(set) var finalRecords = 0
    /// Windows made final.
    public private(set) var finalWindows = 0
    /// Records dead-lettered as `late`.
    public private(set) var late = 0
    /// Cell additions skipped as replays.
    public private(set) var replayed = 0
    /// Partials received for a window already final (sent again after a crash), ignored.
    public private(set) var stalePartials = 0
    private let lateMetric = Counter(label: "tandem_kpi_late_total")
    private let finalMetric = Counter(label: "tandem_kpi_final_windows_total")

    public init(configuration: ServiceConfiguration, rules: Rules, partitionCount: Int32) {
        interactionsTopic = configuration.topic(Topics.interactions)
        segmentsTopic = configuration.topic(Topics.segments)
        leadsTopic = configuration.topic(Topics.leads)
        outcomesTopic = configuration.topic(Topics.leadOutcomes)
        suppressionsTopic = configuration.topic(Topics.leadSuppressions)
        partialsTopic = configuration.topic(Topics.kpiPartials)
        kpiTopic = configuration.topic(Topics.kpi)
        reportTopic = configuration.topic(Topics.opinionReport)
        alertsTopic = configuration.topic(Topics.alerts)
        inputTopics = Topics.inputs["kpi"]!.map(configuration.topic)
        cells = CellStore(changelogTopic: configuration.topic(Topics.changelog(service: "kpi", store: "windows")))
        customers = CustomerStore(
            changelogTopic: configuration.topic(Topics.changelog(service: "kpi", store: "customers"))
        )
        marks = KeyedStateStore(
            name: "marks",
            changelogTopic: configuration.topic(Topics.changelog(service: "kpi", store: "marks"))
        )
        merge = KeyedStateStore(
            name: "merge",
            changelogTopic: configuration.topic(Topics.changelog(service: "kpi", store: "merge")),
            codec: PartialCodec.mergeCodec
        )
        self.partitionCount = partitionCount
        self.rules = rules
        counting = KPICounting(rules: rules.kpi)
        reports = Reports(rules: rules.kpi)
        calendar = WindowCalendar(timeZone: TimeZone(identifier: rules.kpi.timeZone) ?? .gmt)
        idleMilliseconds = Int64(rules.eventTime.idleTimeoutSeconds * 1000)
        clocks = Array(repeating: EventTimeClock(idleTimeout: .milliseconds(idleMilliseconds)), count: 4)
        repeatMilliseconds = Int64(rules.kpi.repeatContactDays) * 86_400_000
    }

    func grace(_ size: KPIWindowSize) -> Int64 {
        Int64(reports.window(size).graceSeconds) * 1000
    }

    // MARK: Records

    public func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        guard let value = record.value else {
            throw ProcessingFailure(reason: "invalid_json", message: "the record has no value")
        }
        switch record.topic {
        case interactionsTopic: try interaction(record, value)
        case partialsTopic: try partial(record, value, into: &output)
        case segmentsTopic: try segment(record, value)
        case leadsTopic:
            let lead = try decode(Lead.self, value)
            try count(
                .leads,
                at: Self.millis(lead.createdAt),
                dimensions: [(.overall, "all"), (.tier, lead.tier.isEmpty ? "unknown" : lead.tier)],
                counters: KPICounting.leadCreated(),
                record: record
            )
        case outcomesTopic:
            let outcome = try decode(LeadOutcome.self, value)
            try count(
                .outcomes,
                at: Self.millis(outcome.at),
                dimensions: [(.overall, "all"), (.tier, tier(of: outcome.customerId, partition: record.partition))],
                counters: KPICounting.leadOutcome(outcome.outcome),
                record: record
            )
        case suppressionsTopic:
            // simdjson when it can answer (one record in three under load), else Foundation's verdict.
            let suppression: LeadSuppression
            if let fast = suppressionReader.read(value) {
                suppression = fast
            } else {
                suppression = try decode(LeadSuppression.self, value)
            }
            let tier = suppression.tier ?? tier(of: suppression.customerId, partition: record.partition)
            try count(
                .suppressions,
                at: Self.millis(suppression.occurredAt),
                dimensions: [(.overall, "all"), (.tier, tier)],
                counters: KPICounting.leadSuppressed(reason: suppression.reason.rawValue),
                record: record
            )
        default:
            throw ProcessingFailure(reason: "unknown_topic", message: "not an input topic of the KPI service")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ value: UnsafeRawBufferPointer) throws(ProcessingFailure) -> T {
        do {
            return try jsonDecoder.decode(T.self, from: Data(value))
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw ProcessingFailure(reason: "invalid_json", message: "payload is not valid JSON")
            }
            throw ProcessingFailure(reason: "invalid", message: Self.describe(error))
        } catch {
            throw ProcessingFailure(reason: "invalid_json", message: "payload is not valid JSON")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".") + ": required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return context.codingPath.map(\.stringValue).joined(separator: ".")
                + ": a value of the wrong type or format"
        @unknown default:
            return "the record cannot be read"
        }
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    func tier(of customer: String, partition: Int32) -> String {
        customers.get(customer, partition: partition)?.tier ?? "unknown"
    }

    /// A segment record: only `customerId` and `tier` are read (the segmentation service owns the rest).
    private struct SegmentTier: Decodable {
        var customerId: String
        var tier: String?
    }

    private func segment(_ record: InputRecord, _ value: UnsafeRawBufferPointer) throws(ProcessingFailure) {
        // Two fields of a large record: simdjson when it can answer, the reference decoder for
        // the verdict otherwise (Foundation cost ≈ 8 % of the service's CPU in the pipeline bench).
        let segment: SegmentTier
        if let fields = segmentFields.read(value), let customerId = fields[0] {
            segment = SegmentTier(customerId: customerId, tier: fields[1])
        } else {
            segment = try decode(SegmentTier.self, value)
        }
        guard let tier = segment.tier, ["high", "mid", "low"].contains(tier) else {
            throw ProcessingFailure(reason: "invalid", message: "tier: expected high, mid or low")
        }
        var state = customers.get(segment.customerId, partition: record.partition) ?? CustomerState()
        guard state.tier != tier else { return }
        state.tier = tier
        customers.put(segment.customerId, state, partition: record.partition)
    }

    private func interaction(_ record: InputRecord, _ value: UnsafeRawBufferPointer) throws(ProcessingFailure) {
        let raw: RawInteraction
        do {
            raw = try decoder.decodeRawInteraction(value)
        } catch {
            throw ProcessingFailure(reason: "invalid_json", message: "the interaction cannot be read: \(error.reason)")
        }
        guard let occurredAt = raw.occurredAt, let name = raw.channel,
            let channel = Channel(rawValue: name) ?? Channel(alias: name), let kindName = raw.kind,
            let kind = InteractionKind(rawValue: kindName)
        else {
            throw ProcessingFailure(reason: "invalid", message: "occurredAt, channel and kind: required and known")
        }
        let time = Self.millis(occurredAt)
        let partition = record.partition
        var isRepeat: Bool?
        var tier: String?
        if let customer = raw.customerId {
            let state = customers.get(customer, partition: partition)
            tier = state?.tier ?? "unknown"
            if let topic = raw.topic, !topic.isEmpty, KPICounting.isCustomerInitiated(kind) {
                var recent = state?.recent?[topic] ?? []
                isRepeat = recent.contains {
                    $0[1] < record.offset && $0[0] <= time && time - $0[0] <= repeatMilliseconds
                }
                if !recent.contains(where: { $0[1] == record.offset }) {
                    // Forget contacts too old to make a repeat of anything not yet late.
                    let newest = max(time, recent.last?[0] ?? time)
                    let horizon = newest - repeatMilliseconds - grace(.day)
                    if let oldest = recent.first, oldest[0] < horizon { recent.removeAll { $0[0] < horizon } }
                    recent.append([time, record.offset])
                    if recent.count > 64 { recent.removeFirst(recent.count - 64) }
                    var current = state ?? CustomerState()
                    if current.recent == nil { current.recent = [:] }
                    current.recent![topic] = recent
                    customers.put(customer, current, partition: partition)
                }
            }
        }
        var dimensions: [(KPIDimension, String)] = [(.overall, "all"), (.channel, channel.rawValue)]
        if let department = raw.department, !department.isEmpty { dimensions.append((.department, department)) }
        if let tier { dimensions.append((.tier, tier)) }
        if let topic = raw.topic, !topic.isEmpty { dimensions.append((.topic, topic)) }
        if let queue = raw.queue, !queue.isEmpty { dimensions.append((.queue, queue)) }
        try count(
            .interactions,
            at: time,
            dimensions: dimensions,
            counters: counting.interaction(raw, channel: channel, kind: kind, isRepeat: isRepeat),
            hourTallies: counting.hourTallies(raw, channel: channel, kind: kind),
            record: record
        )
    }

    /// Adds a record's counters to every window still open for it; throws `late` when at least
    /// one of its windows is already closed on this partition (the message names them).
    private func count(
        _ source: Source,
        at time: Int64,
        dimensions: [(KPIDimension, String)],
        counters: KPICounters,
        hourTallies: [String] = [],
        record: InputRecord
    ) throws(ProcessingFailure) {
        let partition = record.partition
        clocks[Int(source.rawValue)].observe(partition: partition, eventTime: time, wallNow: wallClock())
        let valueIDs = dimensions.map { cells.intern($0.1) }
        let indices = counters.nonZeroIndices
        var missed: [String] = []
        for size in KPIWindowSize.allCases {
            let window = calendar.window(size, containing: time)
            if let closedThrough = closed[partition]?[size], window.end + grace(size) <= closedThrough {
                missed.append(size.rawValue)
                continue
            }
            var added = false
            for (index, (dimension, _)) in dimensions.enumerated() {
                let isHourOverall = size == .hour && dimension == .overall
                if cells.add(
                    counters,
                    source: source.rawValue,
                    size: size,
                    start: window.start,
                    dimension: dimension,
                    valueID: valueIDs[index],
                    partition: partition,
                    offset: record.offset,
                    tallies: isHourOverall ? hourTallies : [],
                    indices: indices
                ) {
                    added = true
                } else {
                    replayed += 1
                }
            }
            let mark = ChangedMark(partition: partition, start: window.start)
            if added, lastChanged[Int(size.code)] != mark {
                lastChanged[Int(size.code)] = mark
                changed[partition, default: []].insert(window)
            }
        }
        if !missed.isEmpty {
            late += 1
            lateMetric.increment()
            let counted = KPIWindowSize.allCases.map(\.rawValue).filter { !missed.contains($0) }
            throw ProcessingFailure(
                reason: "late",
                message:
                    "event time \(Timestamp.format(Timestamp.date(millisecondsSince1970: time)) ?? "") is past the "
                    + "grace of its \(missed.joined(separator: ", ")) window(s), already final"
                    + (counted.isEmpty
                        ? "; not counted" : "; counted in the \(counted.joined(separator: ", ")) window(s)")
            )
        }
    }

    // MARK: Stage 1: closing windows

    public func tick(wallNow: Int64, into output: inout ProcessorOutput) {
        for index in clocks.indices { clocks[index].advanceIdle(wallNow: wallNow) }
        for partition in owned.sorted() {
            if clocks[0].eventTime(partition: partition) == nil, let since = assignedAt[partition],
                wallNow - since >= idleMilliseconds
            {
                // A partition without any event yet: after the idle timeout its event time follows
                // the wall clock, so empty partitions do not hold every window open forever.
                clocks[0].observe(partition: partition, eventTime: wallNow - idleMilliseconds, wallNow: wallNow)
            }
            closeWindows(partition: partition, wallNow: wallNow, into: &output)
        }
        for partition in Array(dirtySnapshots.keys).sorted() {
            publishOpenSnapshots(partition: partition, wallNow: wallNow, into: &output)
        }
    }

    /// The partition's event time: the least of its topics' (those seen so far); nil until
    /// `cs.interactions`, the main stream, has one (an event, or the wall clock after the idle
    /// timeout).
    func eventTime(partition: Int32) -> Int64? {
        guard clocks[0].eventTime(partition: partition) != nil else { return nil }
        return clocks.compactMap { $0.eventTime(partition: partition) }.min()
    }

    /// Publishes the final partials of the windows whose end + grace the partition's event time
    /// has passed, the throttled updates of open windows, and the partition's watermark.
    func closeWindows(partition: Int32, wallNow: Int64, into output: inout ProcessorOutput) {
        lastChanged = [nil, nil, nil]
        guard let now = eventTime(partition: partition) else { return }
        var byWindow: [WindowRef: [(key: CellKey, cell: Cell)]] = [:]
        for (start, windowCells) in cells.cellsByWindow(partition: partition) {
            guard let size = KPIWindowSize(code: start.size) else { continue }
            byWindow[calendar.window(size, startingAt: start.start)] = windowCells
        }
        var advanced = false
        for size in KPIWindowSize.allCases {
            let previous = closed[partition]?[size] ?? .min
            if now > previous {
                for (window, windowCells) in byWindow.sorted(by: { $0.key < $1.key })
                where window.size == size && window.end + grace(size) <= now {
                    sendPartial(window, cells: windowCells, source: partition, final: true, into: &output)
                    cells.delete(windowCells.map(\.key), partition: partition)
                    changed[partition]?.remove(window)
                }
                closed[partition, default: [:]][size] = now
                marks.put("closed|\(size.rawValue)", now, partition: partition, offset: 0)
                advanced = true
            }
            sendOpenPartials(partition: partition, size: size, wallNow: wallNow, byWindow: byWindow, into: &output)
        }
        if advanced { sendWatermark(source: partition, into: &output) }
    }

    /// The non-final partials of the partition's changed open windows of one size, when the
    /// size's update throttle allows.
    private func sendOpenPartials(
        partition: Int32,
        size: KPIWindowSize,
        wallNow: Int64,
        byWindow: [WindowRef: [(key: CellKey, cell: Cell)]],
        into output: inout ProcessorOutput
    ) {
        let throttle = Int64(reports.window(size).updateThrottleSeconds) * 1000
        guard wallNow - (lastUpdate[partition]?[size] ?? .min / 2) >= throttle else { return }
        let open = (changed[partition] ?? []).filter { $0.size == size }
        for window in open.sorted() {
            sendPartial(window, cells: byWindow[window] ?? [], source: partition, final: false, into: &output)
            changed[partition]?.remove(window)
        }
        if !open.isEmpty { lastUpdate[partition, default: [:]][size] = wallNow }
    }

    /// At the end of each batch, what the throttles already allow goes out at once rather than on
    /// the next tick (up to a second later): the partitions' updates of their changed open windows,
    /// and the merger's snapshots of the windows that received partials. With a throttle of 0 a
    /// wallboard sees a contact within a batch or two; windows still close only on ``tick(wallNow:into:)``.
    public func batchProcessed(wallNow: Int64, into output: inout ProcessorOutput) {
        for partition in changed.keys.sorted() where owned.contains(partition) {
            guard let open = changed[partition], !open.isEmpty else { continue }
            let sizes = Set(open.map(\.size))
            let due = sizes.filter { size in
                let throttle = Int64(reports.window(size).updateThrottleSeconds) * 1000
                return wallNow - (lastUpdate[partition]?[size] ?? .min / 2) >= throttle
            }
            guard !due.isEmpty else { continue }
            var byWindow: [WindowRef: [(key: CellKey, cell: Cell)]] = [:]
            // Only the due windows' cells (a day window's thousands of cells stay packed).
            let wanted = Set(
                open.filter { due.contains($0.size) }.map { WindowStart(size: $0.size.code, start: $0.start) }
            )
            for (start, windowCells) in cells.cellsByWindow(partition: partition, including: wanted) {
                guard let size = KPIWindowSize(code: start.size), due.contains(size) else { continue }
                let window = calendar.window(size, startingAt: start.start)
                if open.contains(window) { byWindow[window] = windowCells }
            }
            for size in KPIWindowSize.allCases where due.contains(size) {
                sendOpenPartials(partition: partition, size: size, wallNow: wallNow, byWindow: byWindow, into: &output)
            }
            // ``changed`` lost windows: the next record of one must insert it again.
            lastChanged = [nil, nil, nil]
        }
        for partition in Array(dirtySnapshots.keys).sorted() {
            publishOpenSnapshots(partition: partition, wallNow: wallNow, into: &output)
        }
    }

    private func sendPartial(
        _ window: WindowRef,
        cells windowCells: [(key: CellKey, cell: Cell)],
        source: Int32,
        final: Bool,
        into output: inout ProcessorOutput
    ) {
        var merged: [KPIDimension: [String: KPICounters]] = [:]
        for (key, cell) in windowCells.sorted(by: { $0.key.source < $1.key.source }) {
            merged[key.dimension, default: [:]][key.value, default: KPICounters()].merge(cell.counters)
        }
        var partialCells: [PartialCell] = []
        for dimension in KPIDimension.allCases {
            for (value, counters) in (merged[dimension] ?? [:]).sorted(by: { $0.key < $1.key }) {
                partialCells.append(PartialCell(dimension: dimension, value: value, counters: counters))
            }
        }
        let message = PartialMessage(
            type: "partial",
            source: source,
            partitions: partitionCount,
            size: window.size,
            start: window.start,
            end: window.end,
            final: final,
            cells: partialCells,
            closed: nil
        )
        let key = window.size == .hour ? "hour" : "\(window.size.rawValue)/\(window.start)"
        output.send(topic: partialsTopic, key: Array(key.utf8), value: PartialCodec.encode(message))
    }

    private func sendWatermark(source: Int32, into output: inout ProcessorOutput) {
        var through: [String: Int64] = [:]
        for (size, time) in closed[source] ?? [:] { through[size.rawValue] = time }
        let message = PartialMessage(
            type: "watermark",
            source: source,
            partitions: partitionCount,
            size: nil,
            start: nil,
            end: nil,
            final: nil,
            cells: nil,
            closed: through
        )
        let value = PartialCodec.encode(message)
        for target in 0..<partitionCount {
            output.send(topic: partialsTopic, partition: target, key: Array("watermark/\(source)".utf8), value: value)
        }
    }

    // MARK: Stage 2: merging

    private func partial(
        _ record: InputRecord,
        _ value: UnsafeRawBufferPointer,
        into output: inout ProcessorOutput
    ) throws(ProcessingFailure) {
        let message: PartialMessage
        if value.first == UInt8(ascii: "{") {
            // JSON: what versions before the binary form wrote.
            do {
                message = try plainDecoder.decode(PartialMessage.self, from: Data(value))
            } catch {
                throw ProcessingFailure(reason: "invalid", message: "not a KPI partial or watermark")
            }
        } else {
            do {
                message = try PartialCodec.decodeMessage(value)
            } catch {
                throw ProcessingFailure(reason: "invalid", message: "not a KPI partial or watermark: \(error.reason)")
            }
        }
        let partition = record.partition
        guard message.partitions == partitionCount else {
            throw ProcessingFailure(
                reason: "invalid",
                message:
                    "partial from a deployment with \(message.partitions) partitions, this one has \(partitionCount)"
            )
        }
        if message.type == "watermark" {
            for (name, time) in message.closed ?? [:] {
                guard let size = KPIWindowSize(rawValue: name) else { continue }
                let previous = watermarks[partition]?[message.source]?[size] ?? .min
                guard time > previous else { continue }
                watermarks[partition, default: [:]][message.source, default: [:]][size] = time
                marks.put("wm|\(message.source)|\(name)", time, partition: partition, offset: record.offset)
            }
            finalizeReady(partition: partition, into: &output)
            return
        }
        guard let size = message.size, let start = message.start, let end = message.end,
            let partialCells = message.cells
        else {
            throw ProcessingFailure(reason: "invalid", message: "a partial without its window")
        }
        let window = WindowRef(size: size, start: start, end: end)
        if isFinal(window, partition: partition) {
            stalePartials += 1
            return
        }
        merge.put(
            "\(size.rawValue)|\(start)|\(message.source)",
            MergePart(final: message.final ?? false, end: end, cells: partialCells),
            partition: partition,
            offset: record.offset
        )
        pending[partition, default: [:]][window, default: []].insert(message.source)
        if message.final != true {
            // Published at the end of the batch (``batchProcessed``) or on the tick, throttled:
            // one snapshot for all the partials a batch brings.
            dirtySnapshots[partition, default: []].insert(window)
        }
    }

    /// True when every input partition has closed the window.
    func isFinal(_ window: WindowRef, partition: Int32) -> Bool {
        guard let sources = watermarks[partition], sources.count == Int(partitionCount) else { return false }
        let due = window.end + grace(window.size)
        return sources.values.allSatisfy { ($0[window.size] ?? .min) >= due }
    }

    private func finalizeReady(partition: Int32, into output: inout ProcessorOutput) {
        let ready = (pending[partition] ?? [:]).keys.filter { isFinal($0, partition: partition) }.sorted()
        for window in ready {
            let sources = pending[partition]?[window] ?? []
            let merged = mergedCells(window, sources: sources, partition: partition)
            publish(window, cells: merged, final: true, into: &output)
            if window.size == .hour {
                hourReports(window, overall: merged[.overall]?["all"], partition: partition, into: &output)
            }
            for source in sources {
                merge.delete("\(window.size.rawValue)|\(window.start)|\(source)", partition: partition)
            }
            pending[partition]?[window] = nil
            dirtySnapshots[partition]?.remove(window)
            lastSnapshot[window] = nil
            finalWindows += 1
            finalMetric.increment()
        }
    }

    /// The sum of the window's partials, in source-partition order.
    private func mergedCells(
        _ window: WindowRef,
        sources: Set<Int32>,
        partition: Int32
    ) -> [KPIDimension: [String: KPICounters]] {
        var merged: [KPIDimension: [String: KPICounters]] = [:]
        for source in sources.sorted() {
            guard let part = merge.get("\(window.size.rawValue)|\(window.start)|\(source)", partition: partition)
            else { continue }
            for cell in part.cells {
                merged[cell.d, default: [:]][cell.v, default: KPICounters()].merge(cell.counters)
            }
        }
        return merged
    }

    private func publish(
        _ window: WindowRef,
        cells merged: [KPIDimension: [String: KPICounters]],
        final: Bool,
        into output: inout ProcessorOutput
    ) {
        for snapshot in reports.snapshots(window, cells: merged, final: final) {
            guard let value = try? FastJSON.encode(snapshot) else { continue }
            output.send(topic: kpiTopic, key: Array(snapshot.key.utf8), value: value)
            if final { finalRecords += 1 }
        }
    }

    /// The hour's opinion report, the rolling 24-hour report ending with it, and its alerts.
    private func hourReports(
        _ window: WindowRef,
        overall: KPICounters?,
        partition: Int32,
        into output: inout ProcessorOutput
    ) {
        let tallies = (overall?.tallies ?? [:]).filter { !$0.key.hasPrefix(KPICounts.suppressionPrefix) }
        var history: [Int64: [String: Int64]] = [:]
        let keep = Int64(max(24, rules.kpi.alerts.trailingHours)) * 3_600_000
        for (key, part) in merge.entries(partition: partition) where key.hasPrefix("hist|") {
            guard let start = Int64(key.dropFirst(5)) else { continue }
            if start < window.start - keep {
                merge.delete(key, partition: partition)
                continue
            }
            history[start] = part.cells.first?.counters.tallies ?? [:]
        }
        let hourly = reports.opinionReport(period: "hour", start: window.start, end: window.end, tallies: tallies)
        send(hourly, key: hourly.key, topic: reportTopic, into: &output)
        var rolling = tallies
        for (start, earlier) in history where start >= window.end - 86_400_000 && start < window.start {
            for (key, count) in earlier { rolling[key, default: 0] += count }
        }
        let day = reports.opinionReport(
            period: "rolling24h",
            start: window.end - 86_400_000,
            end: window.end,
            tallies: rolling
        )
        send(day, key: day.key, topic: reportTopic, into: &output)
        for alert in reports.alerts(start: window.start, end: window.end, tallies: tallies, history: history) {
            send(alert, key: alert.alertId, topic: alertsTopic, into: &output)
        }
        if !tallies.isEmpty {
            merge.put(
                "hist|\(window.start)",
                MergePart(
                    final: true,
                    end: window.end,
                    cells: [
                        PartialCell(
                            dimension: .overall,
                            value: "all",
                            counters: KPICounters(values: [], tallies: tallies)
                        )
                    ]
                ),
                partition: partition,
                offset: 0
            )
        }
    }

    private func send(_ record: some Encodable, key: String, topic: String, into output: inout ProcessorOutput) {
        guard let value = try? TandemJSON.encode(record) else { return }
        output.send(topic: topic, key: Array(key.utf8), value: value)
    }

    /// Non-final snapshots of open windows that received partials, at most once per the window
    /// size's update throttle.
    private func publishOpenSnapshots(
        partition: Int32,
        wallNow: Int64,
        into output: inout ProcessorOutput
    ) {
        for window in (dirtySnapshots[partition] ?? []).sorted() {
            let throttle = Int64(reports.window(window.size).updateThrottleSeconds) * 1000
            if let last = lastSnapshot[window], wallNow - last < throttle { continue }
            guard let sources = pending[partition]?[window] else { continue }
            publish(
                window,
                cells: mergedCells(window, sources: sources, partition: partition),
                final: false,
                into: &output
            )
            lastSnapshot[window] = wallNow
            dirtySnapshots[partition]?.remove(window)
        }
    }

    // MARK: Partitions

    public func partitionsAssigned(_ partitions: [Int32]) {
        let wallNow = wallClock()
        for partition in partitions {
            owned.insert(partition)
            assignedAt[partition] = wallNow
            var restoredClosed: [KPIWindowSize: Int64] = [:]
            var restoredMarks: [Int32: [KPIWindowSize: Int64]] = [:]
            for (key, time) in marks.entries(partition: partition) {
                let parts = key.split(separator: "|")
                if parts.count == 2, parts[0] == "closed", let size = KPIWindowSize(rawValue: String(parts[1])) {
                    restoredClosed[size] = time
                } else if parts.count == 3, parts[0] == "wm", let source = Int32(parts[1]),
                    let size = KPIWindowSize(rawValue: String(parts[2]))
                {
                    restoredMarks[source, default: [:]][size] = time
                }
            }
            closed[partition] = restoredClosed
            watermarks[partition] = restoredMarks
            if let resume = restoredClosed.values.max() {
                clocks[0].observe(partition: partition, eventTime: resume, wallNow: wallNow)
            }
            var windows: [WindowRef: Set<Int32>] = [:]
            for (key, part) in merge.entries(partition: partition) where !key.hasPrefix("hist|") {
                let parts = key.split(separator: "|")
                guard parts.count == 3, let size = KPIWindowSize(rawValue: String(parts[0])),
                    let start = Int64(parts[1]), let source = Int32(parts[2])
                else { continue }
                windows[WindowRef(size: size, start: start, end: part.end), default: []].insert(source)
            }
            pending[partition] = windows
            // Open windows restored from the changelog send an update on the next tick.
            var open = Set<WindowRef>()
            for key in cells.cells(partition: partition).keys {
                open.insert(calendar.window(key.size, startingAt: key.start))
            }
            changed[partition] = open
        }
    }

    public func partitionsRevoked(_ partitions: [Int32]) {
        lastChanged = [nil, nil, nil]
        for partition in partitions {
            owned.remove(partition)
            for index in clocks.indices { clocks[index].drop(partition: partition) }
            closed[partition] = nil
            changed[partition] = nil
            lastUpdate[partition] = nil
            assignedAt[partition] = nil
            pending[partition] = nil
            watermarks[partition] = nil
            dirtySnapshots[partition] = nil
        }
    }
}
