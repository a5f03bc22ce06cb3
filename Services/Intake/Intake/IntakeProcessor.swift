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
/// wall clock on idle partitions) is 24 h past their `occurredAt`: in ``tick(wallNow:into:)`` and
/// every ``expiryEvery`` records, a partition whose event time moved on by a minute since its last
/// sweep has its expired ids removed in one pass over its table (which shrinks when mostly empty),
/// so the window's memory is bounded by 24 h (+ up to 2 minutes) of distinct events. A sweep
/// costs a pass over the partition's ids once a minute, where filing every id under the minute
/// its window ends cost a second entry per id. The changelog needs no deletes: it
/// keeps records for ``Topics/intakeDedupChangelog``'s retention, longer than the window.
///
/// - Important: used only from its ``ProcessingLoop``'s task, one call at a time (hence
///   `@unchecked Sendable`): it keeps a decoder, an encode buffer and counters without locks.
public final class IntakeProcessor: RecordProcessor, @unchecked Sendable {
    /// Records per processing batch unless `TANDEM_MAX_BATCH` says otherwise: 32,768, eight times
    /// the loop's usual. Intake does little per record, so what a batch costs besides its records
    /// weighs: each batch spreads its outputs over every partition, and the producer's requests
    /// then carry a batch's share of each. With 4,096 a backlog ran at 283–381 k records/s, with
    /// 32,768 at 428–510 k (`tandem bench intake`; librdkafka's and the broker's threads spent a
    /// quarter less CPU per record). A quiet intake's batches stay small: latency is unchanged.
    public static let defaultMaxBatch = 32768

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
    public var wallClock: () -> Int64 = {
        // Date() would do the same through floating point, at twice the cost per record.
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

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
    /// Steps 1–4 for the common case (the reference path is ``validator`` and ``FastJSON``).
    let transcoder: InteractionTranscoder = {
        let scanner = PIIMasker.Scanner()
        return InteractionTranscoder(mask: scanner.mask(utf8:))
    }()
    /// The output value of the reference path.
    private var encoded: [UInt8] = []
    private var sinceExpiry = 0
    /// The event time each partition's expiry last ran at: it runs at most once per
    /// ``expiryGranularityMilliseconds`` of event time, so a busy partition's table is not
    /// swept after every record.
    private var lastExpiry: [Int32: Int64] = [:]
    /// How often (in event time) a partition's table is swept (1 minute).
    public var expiryGranularityMilliseconds: Int64 = 60_000

    public init(configuration: ServiceConfiguration, rules: Rules) {
        clock = EventTimeClock(idleTimeout: .milliseconds(Int64(rules.eventTime.idleTimeoutSeconds * 1000)))
        inputTopics = Topics.inputs["intake"]!.map(configuration.topic)
        outputTopic = configuration.topic(Topics.interactions)
        dedup = IdWindowStore(name: "dedup", changelogTopic: configuration.topic(Topics.intakeDedupChangelog))
        self.rules = rules
        encoded.reserveCapacity(4096)
    }

    public func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        let wallNow = wallClock()
        if let value = record.value, value.count <= maxRecordBytes,
            let clean = transcoder.transcode(value, receivedAt: wallNow)
        {
            guard admit(clean.eventId, occurredAt: clean.occurredAt, record, wallNow: wallNow) else { return }
            output.send(topic: outputTopic, key: clean.key, value: clean.value)
        } else {
            let interaction = try validator.interaction(from: record.value, receivedAt: wallNow)
            encoded.removeAll(keepingCapacity: true)
            do {
                try FastJSON.encode(interaction, into: &encoded)
            } catch {
                throw ProcessingFailure(reason: "unencodable", message: error.description)
            }
            let occurredAt = Timestamp.milliseconds(interaction.occurredAt)
            var eventId = interaction.eventId
            let admitted = eventId.withUTF8 { id in
                admit(UnsafeRawBufferPointer(id), occurredAt: occurredAt, record, wallNow: wallNow)
            }
            guard admitted else { return }
            output.send(topic: outputTopic, key: Array((interaction.customerId ?? eventId).utf8), value: encoded)
        }
        published += 1
    }

    /// Step 5: whether a valid record is new, and then remembered; a repeat within the window
    /// and a replay are counted and dropped.
    private func admit(
        _ eventId: UnsafeRawBufferPointer,
        occurredAt: Int64,
        _ record: InputRecord,
        wallNow: Int64
    ) -> Bool {
        let partition = record.partition
        clock.observe(partition: partition, eventTime: occurredAt, wallNow: wallNow)
        defer { expireIfDue() }
        if let (first, appliedAt) = dedup.putIfAbsent(eventId, occurredAt, partition: partition, offset: record.offset)
        {
            if appliedAt >= record.offset {
                replayed += 1
                replayedMetric.increment()
                return false
            }
            if abs(occurredAt - first) < dedupWindowMilliseconds {
                duplicates += 1
                duplicatesMetric.increment()
                return false
            }
            // A repeat after the window: remembered anew.
            dedup.put(eventId, occurredAt, partition: partition, offset: record.offset)
        }
        return true
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

    public func partitionsRevoked(_ partitions: [Int32]) {
        for partition in partitions {
            clock.drop(partition: partition)
            lastExpiry[partition] = nil
        }
    }

    /// Removes the dedup entries whose partition's event time is past their window: one pass
    /// over a partition's table, at most once per ``expiryGranularityMilliseconds`` of its event time.
    public func expire() {
        sinceExpiry = 0
        for partition in dedup.partitions {
            guard let now = clock.eventTime(partition: partition) else { continue }
            if let last = lastExpiry[partition], now - last < expiryGranularityMilliseconds { continue }
            lastExpiry[partition] = now
            dedup.removeAll(partition: partition, eventTimeAtOrBefore: now - dedupWindowMilliseconds)
        }
    }

    private func expireIfDue() {
        sinceExpiry += 1
        if sinceExpiry >= expiryEvery { expire() }
    }
}
