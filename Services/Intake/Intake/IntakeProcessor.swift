import Foundation
import Metrics
public import Models
public import ServiceKit

/// `tandem-intake`: every channel in, one clean stream out (SPEC §1–2).
///
/// For each record of `cs.interactions.raw`, in order:
/// 1. **size**: a value longer than ``maxRecordBytes`` is dead-lettered as `oversized` (a record
///    without a value as `invalid_json`);
/// 2. **decode** with one long-lived ``FastJSONDecoder``: bytes that are not UTF-8 JSON are
///    `invalid_json`, JSON that is not an object is `not_an_object`, a field of the wrong type is
///    `invalid_field` (the message names the field);
/// 3. **validate and normalise** (``Interaction/init(normalizing:receivedAt:)``, with the wall
///    clock as `receivedAt`): a broken rule is `invalid`, the message lists `field: rule` for
///    each — never a value, so no customer data reaches the dead-letter message;
/// 4. **mask** PII in `text` and in the `attributes` values (``PIIMasker``);
///
///    Steps 1–4 as written are the reference path. A valid record in the usual shape takes one
///    pass instead (``InteractionTranscoder``: rules checked and clean JSON written from the
///    parser's bytes), which gives the same bytes; what it declines takes the reference path,
///    which gives the verdict (``referencePathRecords`` counts them);
/// 5. **deduplicate** by `eventId` over 24 h of event time per partition (the ``dedup`` store,
///    value = the first occurrence's `occurredAt` in ms): a repeat within 24 h is dropped and
///    counted in ``duplicates``; a record reprocessed after a crash whose id already reached the
///    changelog with this record's offset or a later one is dropped and counted in ``replayed``
///    — its output was acknowledged before that changelog write;
/// 6. **publish** on `cs.interactions`, keyed by `customerId`, else `eventId` (opinion posts),
///    partitioned by murmur2.
///
/// Dedup entries expire once their partition's event time (``EventTimeClock``, which follows the
/// wall clock on idle partitions) is 24 h past their `occurredAt`: ids are filed under the minute
/// their window ends, whole minutes are swept in ``tick(wallNow:into:)`` and every
/// ``expiryEvery`` records, and their entries removed from the store, so the window's memory is
/// bounded by 24 h (+ up to 2 minutes) of distinct events. The changelog needs no deletes: it
/// keeps records for ``Topics/intakeDedupChangelog``'s retention, longer than the window.
///
/// - Important: used only from its ``ProcessingLoop``'s task, one call at a time (hence
///   `@unchecked Sendable`): it keeps a decoder, an encode buffer and counters without locks.
public final class IntakeProcessor: RecordProcessor, @unchecked Sendable {
    public let inputTopics: [String]
    /// The output topic, `cs.interactions` with the deployment's prefix.
    public let outputTopic: String
    /// Event ids seen in the last 24 h of event time → their event time (ms).
    public let dedup: IdWindowStore
    public var stores: [any StateStore] { [dedup] }
    let rules: Rules

    /// Steps 1–4: size, decode, validate and normalise, mask.
    var validator = IntakeValidator()
    /// The largest record value accepted, in bytes (default 64 KiB); larger ones are `oversized`.
    public var maxRecordBytes: Int {
        get { validator.maxRecordBytes }
        set { validator.maxRecordBytes = newValue }
    }
    /// How long an event id is remembered, in event-time milliseconds (24 h).
    public var dedupWindowMilliseconds: Int64 = 24 * 3600 * 1000
    /// Expired dedup entries are also removed every this many records (besides every tick).
    public var expiryEvery = 4096
    /// The wall clock, ms since the epoch: `receivedAt`, and idle partitions' event time. Tests set it.
    public var wallClock: () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// Records dropped as repeats of an event id seen within the dedup window.
    public private(set) var duplicates = 0
    /// Records dropped because they were reprocessed after their dedup entry reached the changelog.
    public private(set) var replayed = 0
    /// Records published on the output topic.
    public private(set) var published = 0
    /// Records the one-pass transcoder declined, which took the reference path (invalid ones,
    /// and valid ones in a rare shape): a high share of valid records here means lost speed.
    public var referencePathRecords: Int { transcoder.declined }
    private let duplicatesMetric = Counter(label: "tandem_duplicates_total", dimensions: [("service", "intake")])
    private let replayedMetric = Counter(label: "tandem_replayed_total", dimensions: [("service", "intake")])

    /// Event time per partition (idle partitions follow the wall clock).
    var clock: EventTimeClock<String>
    /// Remembered event ids by the minute (ms / 60,000) their window ends, per partition.
    private var expiries: [Int32: [Int64: [String]]] = [:]
    /// Steps 1–4 for the common case (``clean(_:receivedAt:)``).
    let transcoder = InteractionTranscoder(mask: PIIMasker.mask(utf8:))
    /// The output record being built: its value and its key.
    private var encoded: [UInt8] = []
    private var key: [UInt8] = []
    private var sinceExpiry = 0
    /// The event time each partition's expiry last ran at: it runs at most once per
    /// ``expiryGranularityMilliseconds`` of event time, so a busy partition does not look at its
    /// expiry buckets after every record.
    private var lastExpiry: [Int32: Int64] = [:]
    /// How often (in event time) a partition's expiry buckets are swept (1 minute).
    public var expiryGranularityMilliseconds: Int64 = 60_000

    public init(configuration: ServiceConfiguration, rules: Rules) {
        clock = EventTimeClock(idleTimeout: .milliseconds(Int64(rules.eventTime.idleTimeoutSeconds * 1000)))
        inputTopics = Topics.inputs["intake"]!.map(configuration.topic)
        outputTopic = configuration.topic(Topics.interactions)
        dedup = IdWindowStore(name: "dedup", changelogTopic: configuration.topic(Topics.intakeDedupChangelog))
        self.rules = rules
        encoded.reserveCapacity(4096)
        key.reserveCapacity(128)
    }

    public func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        let wallNow = wallClock()
        let (eventId, occurredAt) = try clean(record.value, receivedAt: wallNow)

        // Deduplication (validation guarantees the event id and the timestamp).
        let partition = record.partition
        clock.observe(partition: partition, eventTime: occurredAt, wallNow: wallNow)
        defer { expireIfDue() }
        if let (first, appliedAt) = dedup.lookup(eventId, partition: partition) {
            if appliedAt >= record.offset {
                replayed += 1
                replayedMetric.increment()
                return
            }
            if abs(occurredAt - first) < dedupWindowMilliseconds {
                duplicates += 1
                duplicatesMetric.increment()
                return
            }
        }

        dedup.put(eventId, occurredAt, partition: partition, offset: record.offset)
        scheduleExpiry(eventId, occurredAt: occurredAt, partition: partition)
        output.send(topic: outputTopic, key: key, value: encoded)
        published += 1
    }

    /// Steps 1–4, leaving the clean record's JSON in ``encoded`` and its key in ``key``: the
    /// transcoder takes the common case in one pass over the bytes; what it declines (invalid
    /// records, rare shapes) takes the reference path — the validator's ``Interaction`` encoded
    /// with ``FastJSON`` — which the transcoder's output equals byte for byte.
    ///
    /// - Returns: the event id and `occurredAt` (ms) for deduplication.
    private func clean(
        _ value: UnsafeRawBufferPointer?,
        receivedAt: Int64
    ) throws(ProcessingFailure) -> (eventId: String, occurredAt: Int64) {
        encoded.removeAll(keepingCapacity: true)
        key.removeAll(keepingCapacity: true)
        if let value, value.count <= maxRecordBytes,
            let clean = transcoder.transcode(value, receivedAt: receivedAt, into: &encoded)
        {
            key.append(contentsOf: clean.key)
            return (clean.eventId, clean.occurredAt)
        }
        let interaction = try validator.interaction(from: value, receivedAt: receivedAt)
        do {
            try FastJSON.encode(interaction, into: &encoded)
        } catch {
            throw ProcessingFailure(reason: "unencodable", message: error.description)
        }
        key.append(contentsOf: (interaction.customerId ?? interaction.eventId).utf8)
        return (interaction.eventId, Timestamp.milliseconds(interaction.occurredAt))
    }

    /// Intake alone writes `cs.interactions`, and partition p of it only from input partition p
    /// (both keyed by customerId, else eventId, with murmur2).
    public var ownOutputTopics: [String] { [outputTopic] }

    /// An interaction published just before a crash, whose dedup entry had not reached the
    /// changelog yet: remember it as applied, so that its input, processed again after the
    /// restart, is recognised as a replay and not published a second time.
    public func restoreOutputTail(_ record: InputRecord) {
        guard let value = record.value, let raw = try? validator.decoder.decodeRawInteraction(value),
            let eventId = raw.eventId, let occurred = raw.occurredAt,
            dedup.get(eventId, partition: record.partition) == nil
        else { return }
        let occurredAt = Timestamp.milliseconds(occurred)
        dedup.put(eventId, occurredAt, partition: record.partition, offset: .max)
    }

    public func tick(wallNow: Int64, into output: inout ProcessorOutput) {
        clock.advanceIdle(wallNow: wallNow)
        expire()
    }

    public func partitionsAssigned(_ partitions: [Int32]) {
        // The restored window's entries are filed for expiry again.
        for partition in partitions {
            for (eventId, occurredAt) in dedup.entries(partition: partition) {
                scheduleExpiry(eventId, occurredAt: occurredAt, partition: partition)
            }
        }
    }

    public func partitionsRevoked(_ partitions: [Int32]) {
        for partition in partitions {
            clock.drop(partition: partition)
            lastExpiry[partition] = nil
            expiries[partition] = nil
        }
    }

    /// Removes the dedup entries whose partition's event time is past their window.
    public func expire() {
        sinceExpiry = 0
        for partition in dedup.partitions {
            guard let now = clock.eventTime(partition: partition) else { continue }
            if let last = lastExpiry[partition], now - last < expiryGranularityMilliseconds { continue }
            lastExpiry[partition] = now
            guard let buckets = expiries[partition] else { continue }
            // Whole minutes that ended at or before the partition's event time.
            for minute in buckets.keys where (minute + 1) * 60_000 <= now {
                for eventId in buckets[minute] ?? [] {
                    // A key re-put later (a repeat after 24 h) is also in a later bucket; this checks.
                    if let first = dedup.get(eventId, partition: partition), first + dedupWindowMilliseconds <= now {
                        dedup.remove(eventId, partition: partition)
                    }
                }
                expiries[partition]?[minute] = nil
            }
        }
    }

    /// Files an event id under the minute its dedup window ends (cheaper than a timer per id:
    /// an append, no heap and no second hash table).
    private func scheduleExpiry(_ eventId: String, occurredAt: Int64, partition: Int32) {
        let minute = (occurredAt + dedupWindowMilliseconds) / 60_000
        expiries[partition, default: [:]][minute, default: []].append(eventId)
    }

    private func expireIfDue() {
        sinceExpiry += 1
        if sinceExpiry >= expiryEvery { expire() }
    }
}
