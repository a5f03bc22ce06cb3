import Foundation
import Metrics
public import Models
public import ServiceKit

/// `tandem-segmentation`: who each customer is, and what service they earn (SPEC §3).
///
/// For each record of `cs.accounts` and `cs.interactions` (both keyed by customerId):
/// 1. **decode**: an account event with bytes that are not JSON is `invalid_json`; an unknown
///    `type` or a field of the wrong type is `invalid_field`; an event that breaks a rule of
///    SPEC §2 (a malformed period, a negative amount) is `invalid`; a record whose key is not its
///    customerId is `key_mismatch` (its state would live on the wrong partition). An interaction
///    without a customer (an opinion post) is not about a customer: counted in ``ignored``.
/// 2. **replay**: a record reprocessed after a crash whose change already reached the changelog
///    is skipped, counted in ``replayed``. The state keeps the last applied offset of each input
///    topic (``CustomerProfile/accountsOffset``, ``CustomerProfile/interactionsOffset``): the
///    store's single offset cannot tell, as offsets of two topics do not compare.
/// 3. **apply** it to the customer's ``CustomerProfile`` (``Segmenter``) and publish the
///    customer's ``CustomerSegment`` on `cs.segments` when anything in it changed. Before the
///    customer's first profile the state is kept and nothing is published (``awaitingProfile``).
/// 4. **timers**: each customer has at most one timer in ``EventTimeClock``, at the next event
///    time at which time alone changes the segment (active → cooling → inactive, a churn signal
///    leaving its window, …). Timers fire as the partition's event time passes them — moved on
///    by later events of other customers, or by the wall clock when the partition is idle
///    (`eventTime.idleTimeoutSeconds`) — so silent customers are re-segmented too.
///
/// Replays publish nothing twice: segments acknowledged just before a crash, whose state had not
/// reached the changelog, are read back from the output tail (``restoreOutputTail(_:)``); the
/// replayed inputs rebuild the same state and the same versions, and versions already on the
/// topic are not sent again.
///
/// - Important: used only from its ``ProcessingLoop``'s task, one call at a time (hence
///   `@unchecked Sendable`).
public final class SegmentationProcessor: RecordProcessor, @unchecked Sendable {
    public let inputTopics: [String]
    /// The account events topic (full name).
    public let accountsTopic: String
    /// The output topic, `cs.segments` with the deployment's prefix.
    public let outputTopic: String
    /// Per-customer state, by customer id (binary on the changelog: ``ProfileBox/codec``).
    public let customers: KeyedStateStore<ProfileBox>
    public var stores: [any StateStore] { [customers] }
    /// The rules applied.
    public let segmenter: Segmenter
    let rules: Rules

    /// The wall clock, ms since the epoch, from the loop's (or the system's) wall time: moves idle
    /// partitions' event time on. Tests replace it to let days pass in a second.
    public var wallClock: @Sendable (Int64) -> Int64 = { $0 }
    /// Due timers are also looked at whenever a partition's event time moved this much (1 hour)
    /// since the last look, besides every tick (about once a second). Activity and churn windows
    /// are days long: an hour of event time late is on time.
    public var timerGranularityMilliseconds: Int64 = 3_600_000

    /// Segments published.
    public private(set) var published = 0
    /// Segments published by timers (time passed, nothing happened).
    public private(set) var publishedByTimers = 0
    /// Inputs skipped as replays of changes already in the state.
    public private(set) var replayed = 0
    /// Segments not sent again because the output tail already held their version.
    public private(set) var alreadyPublished = 0
    /// Interactions about no customer.
    public private(set) var ignored = 0
    /// Events applied to customers without a profile yet (nothing published for them).
    public private(set) var awaitingProfile = 0
    private let publishedMetric = Counter(label: "tandem_segments_published_total", dimensions: [("cause", "event")])
    private let timerMetric = Counter(label: "tandem_segments_published_total", dimensions: [("cause", "timer")])
    private let replayedMetric = Counter(label: "tandem_replayed_total", dimensions: [("service", "segmentation")])
    private let awaitingMetric = Counter(label: "tandem_segmentation_awaiting_profile_total")

    /// Event time per partition, one timer per customer.
    var clock: EventTimeClock<String>
    private let decoder = FastJSONDecoder()
    private let accountDecoder = FastAccountEventDecoder()
    private let jsonDecoder = TandemJSON.decoder()
    private var encoded: [UInt8] = []
    /// The event time each partition's timers were last looked at.
    private var lastTimerCheck: [Int32: Int64] = [:]
    /// Versions found on the output tail during a restore, per partition and customer.
    private var tailVersions: [Int32: [String: Int]] = [:]

    public init(configuration: ServiceConfiguration, rules: Rules) {
        accountsTopic = configuration.topic(Topics.accounts)
        inputTopics = Topics.inputs["segmentation"]!.map(configuration.topic)
        outputTopic = configuration.topic(Topics.segments)
        customers = KeyedStateStore(
            name: "customers",
            changelogTopic: configuration.topic(Topics.changelog(service: "segmentation", store: "customers")),
            codec: ProfileBox.codec
        )
        clock = EventTimeClock(idleTimeout: .milliseconds(Int64(rules.eventTime.idleTimeoutSeconds * 1000)))
        segmenter = Segmenter(rules: rules.segmentation)
        self.rules = rules
    }

    public func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        guard let value = record.value else {
            throw ProcessingFailure(reason: "invalid_json", message: "the record has no value")
        }
        let partition = record.partition
        let wallNow = wallClock(Self.systemMilliseconds())
        if record.topic == accountsTopic {
            let event: AccountEvent
            do {
                event = try accountDecoder.decode(value)
            } catch {
                throw Self.decodingFailure(error)
            }
            let customerId = event.customerId
            try Self.checkKey(record, customerId)
            let box = customers.get(customerId, partition: partition)
            var state = box?.profile ?? CustomerProfile()
            if record.offset <= state.accountsOffset {
                countReplay()
                return
            }
            let changed = try segmenter.apply(event, to: &state)
            // Remembered only with a change worth writing: replaying an event that changed
            // nothing changes nothing again.
            if changed { state.accountsOffset = record.offset }
            finish(customerId, box, state, changed: changed, record: record, wallNow: wallNow, into: &output)
        } else {
            let raw: RawInteraction
            do {
                raw = try decoder.decodeRawInteraction(value)
            } catch {
                throw Self.decodingFailure(error)
            }
            guard let customerId = raw.customerId, !customerId.isEmpty else {
                ignored += 1
                return
            }
            guard let occurredAt = raw.occurredAt, let kind = raw.kind else {
                throw ProcessingFailure(reason: "invalid", message: "occurredAt and kind are required")
            }
            try Self.checkKey(record, customerId)
            let box = customers.get(customerId, partition: partition)
            var state = box?.profile ?? CustomerProfile()
            if record.offset <= state.interactionsOffset {
                countReplay()
                return
            }
            let contact = Contact(
                customerId: customerId,
                at: Self.milliseconds(occurredAt),
                kind: kind,
                answered: raw.answered,
                signals: raw.signals ?? []
            )
            let changed = segmenter.apply(contact, to: &state)
            if changed { state.interactionsOffset = record.offset }
            finish(customerId, box, state, changed: changed, record: record, wallNow: wallNow, into: &output)
        }
    }

    /// Publishes the segment if it changed, stores the state, observes event time, sets the timer.
    private func finish(
        _ customerId: String,
        _ box: ProfileBox?,
        _ updated: CustomerProfile,
        changed: Bool,
        record: InputRecord,
        wallNow: Int64,
        into output: inout ProcessorOutput
    ) {
        let partition = record.partition
        var state = updated
        if !state.hasProfile {
            awaitingProfile += 1
            awaitingMetric.increment()
        }
        // A segment is a function of the state: an unchanged state has no new one.
        let segment = changed || state.version == 0 ? segmenter.segment(of: &state, customerId: customerId) : nil
        if let segment {
            send(segment, partition: partition, into: &output)
            published += 1
            publishedMetric.increment()
        }
        if changed || segment != nil {
            if let box {
                box.profile = state
                customers.put(customerId, box, partition: partition, offset: record.offset)
            } else {
                customers.put(customerId, ProfileBox(state), partition: partition, offset: record.offset)
            }
        }
        if state.asOf != .min {
            clock.observe(partition: partition, eventTime: state.asOf, wallNow: wallNow)
        }
        let deadline = schedule(customerId, state, partition: partition)
        // Due timers fire when event time moved on enough, or at once when this customer's own
        // deadline has passed already (a late event, or a customer behind its partition).
        if let now = clock.eventTime(partition: partition),
            now - (lastTimerCheck[partition] ?? .min / 2) >= timerGranularityMilliseconds
                || deadline.map({ $0 <= now }) == true
        {
            fireTimers(partition: partition, into: &output)
        }
    }

    /// Sets the customer's timer to its next deadline, unless an earlier one is set (that one
    /// fires, finds nothing due yet, and sets the next): a busy customer does not fill the heap.
    /// - Returns: the deadline the customer's timer is set at, nil for none.
    @discardableResult
    private func schedule(_ customerId: String, _ state: CustomerProfile, partition: Int32) -> Int64? {
        guard let deadline = segmenter.nextDeadline(state) else { return nil }
        if let current = clock.deadline(of: customerId, partition: partition), current <= deadline { return current }
        clock.schedule(customerId, at: deadline, partition: partition)
        return deadline
    }

    /// Re-segments the customers whose timers the partition's event time has reached.
    func fireTimers(partition: Int32, into output: inout ProcessorOutput) {
        guard let now = clock.eventTime(partition: partition) else { return }
        lastTimerCheck[partition] = now
        for (customerId, _) in clock.dueTimers(partition: partition) {
            guard let box = customers.get(customerId, partition: partition),
                let offset = customers.offset(of: customerId, partition: partition)
            else { continue }
            var state = box.profile
            // A timer set before the customer's latest events may be early: nothing is due yet.
            if let next = segmenter.nextDeadline(state), next > now {
                schedule(customerId, state, partition: partition)
                continue
            }
            let before = state
            segmenter.advance(&state, to: now)
            if let segment = segmenter.segment(of: &state, customerId: customerId) {
                send(segment, partition: partition, into: &output)
                published += 1
                publishedByTimers += 1
                timerMetric.increment()
            }
            if state != before {
                box.profile = state
                customers.put(customerId, box, partition: partition, offset: offset)
            }
            schedule(customerId, state, partition: partition)
        }
    }

    private func send(_ segment: CustomerSegment, partition: Int32, into output: inout ProcessorOutput) {
        if let tail = tailVersions[partition]?[segment.customerId] {
            if segment.version <= tail {
                alreadyPublished += 1
                return
            }
            tailVersions[partition]?[segment.customerId] = nil
        }
        encoded.removeAll(keepingCapacity: true)
        // A record of strings, finite numbers and an event time in years 1–9999 always encodes.
        guard (try? FastJSON.encode(segment, into: &encoded)) != nil else { return }
        output.send(topic: outputTopic, partition: partition, key: Array(segment.customerId.utf8), value: encoded)
    }

    private func countReplay() {
        replayed += 1
        replayedMetric.increment()
    }

    // MARK: RecordProcessor

    /// Fires the timers of the partitions the wall clock moved on (idle ones). A busy partition's
    /// timers fire from ``process(_:into:)`` only, at points fixed by its records' event times, so
    /// that a replay after a crash publishes the same versions.
    public func tick(wallNow: Int64, into output: inout ProcessorOutput) {
        for partition in clock.advanceIdle(wallNow: wallClock(wallNow)) {
            fireTimers(partition: partition, into: &output)
        }
    }

    /// Segmentation alone writes `cs.segments`, partition p only from input partition p.
    public var ownOutputTopics: [String] { [outputTopic] }

    public func restoreOutputTail(_ record: InputRecord) {
        guard let value = record.value,
            let segment = try? jsonDecoder.decode(CustomerSegment.self, from: Data(value))
        else { return }
        let known = tailVersions[record.partition]?[segment.customerId] ?? 0
        tailVersions[record.partition, default: [:]][segment.customerId] = max(known, segment.version)
    }

    public func partitionsAssigned(_ partitions: [Int32]) {
        for partition in partitions {
            // Tail versions the changelog already reflects need no guard.
            if var tails = tailVersions[partition] {
                tails = tails.filter { customerId, version in
                    Int(customers.get(customerId, partition: partition)?.profile.version ?? 0) < version
                }
                tailVersions[partition] = tails.isEmpty ? nil : tails
            }
            for (customerId, box) in customers.entries(partition: partition) {
                schedule(customerId, box.profile, partition: partition)
            }
        }
    }

    public func partitionsRevoked(_ partitions: [Int32]) {
        for partition in partitions {
            clock.drop(partition: partition)
            lastTimerCheck[partition] = nil
            tailVersions[partition] = nil
        }
    }

    // MARK: Helpers

    static func checkKey(_ record: InputRecord, _ customerId: String) throws(ProcessingFailure) {
        guard let key = record.key else { return }
        if !key.elementsEqual(customerId.utf8) {
            throw ProcessingFailure(
                reason: "key_mismatch",
                message: "the record key is not the event's customerId: customer state is partitioned by customerId"
            )
        }
    }

    static func decodingFailure(_ error: ModelError) -> ProcessingFailure {
        guard case .decoding(let field, let message) = error else {
            return ProcessingFailure(reason: "invalid_json", message: "the payload cannot be read")
        }
        if field.isEmpty {
            return ProcessingFailure(
                reason: message.hasPrefix("payload is not valid") ? "invalid_json" : "invalid_field",
                message: message
            )
        }
        return ProcessingFailure(reason: "invalid_field", message: "\(field): \(message)")
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    static func systemMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
