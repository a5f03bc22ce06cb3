import Foundation
public import Kafka
public import Logging
import Metrics
import Synchronization

/// One input record, read in place: valid only during ``RecordProcessor/process(_:into:)``.
public struct InputRecord {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: UnsafeRawBufferPointer?
    public let value: UnsafeRawBufferPointer?
    /// The timestamp given, or the consumed record to read it from when asked.
    private let stamp: Stamp

    private enum Stamp {
        case given(Int64?)
        case consumed(ConsumerRecordView)
    }

    /// Milliseconds since the epoch, when the record has a timestamp. Read from a consumed
    /// record only when asked: most processors never ask, and reading it costs a call into
    /// librdkafka and a memory line of the message beyond those the loop reads anyway.
    public var timestamp: Int64? {
        switch stamp {
        case .given(let timestamp): timestamp
        case .consumed(let record): record.timestamp
        }
    }

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        timestamp: Int64?,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        stamp = .given(timestamp)
    }

    /// A consumed record under the name `topic`, its key and value read in place (`key` and
    /// `value` are the record's own).
    init(_ record: ConsumerRecordView, topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) {
        self.topic = topic
        partition = record.partition
        offset = record.offset
        self.key = key
        self.value = value
        stamp = .consumed(record)
    }
}

/// A store's change the broker refused for good (larger than its message limit, invalid):
/// the loop stops rather than commit past state it could not write.
public struct UndeliverableStateChange: Error, CustomStringConvertible {
    public var topic: String
    public var bytes: Int
    public var error: KafkaError
    public var description: String {
        "a state change to \(topic) (\(bytes) bytes) was refused for good: \(error); raise the topic's and the producer's message limit (max.message.bytes, KAFKA_MESSAGE_MAX_BYTES) and restart"
    }
}

/// A record the processor could not handle: it goes to the dead-letter topic with this reason.
public struct ProcessingFailure: Error, Hashable, Sendable {
    /// A stable reason code, e.g. `invalid_json`, `validation`, `late` (a bounded metric label).
    public var reason: String
    /// A human sentence saying what is wrong (no PII).
    public var message: String

    public init(reason: String, message: String) {
        self.reason = reason
        self.message = message
    }
}

/// What processing a batch of records produces, sent before the input offsets are committed.
public struct ProcessorOutput: Sendable {
    var batch = ProducerBatch()

    /// Queues an output record; `partition` nil lets the murmur2 partitioner choose from the key.
    public mutating func send(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?) {
        batch.append(topic: topic, partition: partition, key: key, value: value)
    }

    /// Queues an output record from raw buffers (copied).
    public mutating func send(
        topic: String,
        partition: Int32? = nil,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?
    ) {
        batch.append(topic: topic, partition: partition, key: key, value: value)
    }

    /// Number of records queued.
    public var count: Int { batch.count }

    /// Copies of the queued records, in order (for tests and diagnostics; the loop sends the batch itself).
    public var records: [ProducerRecord] { (0..<batch.count).map { batch.record(at: $0) } }

    public init() {}
}

/// A service's business logic, driven by a ``ProcessingLoop``.
///
/// - Important: called only from the loop's task, one call at a time; implementations may keep
///   mutable state without locks (hence `@unchecked Sendable` on conforming classes).
public protocol RecordProcessor: AnyObject, Sendable {
    /// The topics to consume (full names, prefix included).
    var inputTopics: [String] { get }
    /// The state stores, restored before any record of an assigned partition is processed.
    var stores: [any StateStore] { get }
    /// Handles one record; throw ``ProcessingFailure`` to dead-letter it.
    func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure)
    /// Called about once a second, busy or idle, with the wall clock (ms since the epoch): move
    /// idle partitions' event time on (``EventTimeClock/advanceIdle(wallNow:)``) and fire due timers.
    func tick(wallNow: Int64, into output: inout ProcessorOutput)
    /// Called after the processor's share of each consumed batch, with the wall clock (ms since
    /// the epoch): send what is better sent once per batch than once per record (throttled
    /// updates). Its outputs go out with the batch's.
    func batchProcessed(wallNow: Int64, into output: inout ProcessorOutput)
    /// Partitions (numbers) whose state is restored and whose records come next.
    func partitionsAssigned(_ partitions: [Int32])
    /// Partitions (numbers) that leave this instance; their state is dropped after this call.
    func partitionsRevoked(_ partitions: [Int32])
    /// Topics this processor alone writes, keyed like its input (partition p of the output is
    /// written only while processing input partition p). After a restore the loop hands the
    /// processor, through ``restoreOutputTail(_:)``, the last records of each such partition
    /// that the changelog may not reflect yet: outputs acknowledged by the broker just before a
    /// crash, before their state change reached the changelog. A processor that records them
    /// (e.g. as "already published") never publishes them a second time.
    var ownOutputTopics: [String] { get }
    /// One record of an own output topic's tail, during a restore (see ``ownOutputTopics``).
    func restoreOutputTail(_ record: InputRecord)
}

extension RecordProcessor {
    public var ownOutputTopics: [String] { [] }
    public func restoreOutputTail(_ record: InputRecord) {}
    public func tick(wallNow: Int64, into output: inout ProcessorOutput) {}
    public func batchProcessed(wallNow: Int64, into output: inout ProcessorOutput) {}
    public func partitionsAssigned(_ partitions: [Int32]) {}
    public func partitionsRevoked(_ partitions: [Int32]) {}
}

/// Consume a batch → process → produce → commit, with exactly-once effect on state.
///
/// For each batch: every record is processed (a failure becomes a dead letter and the loop goes
/// on); then the outputs and dead letters are sent and acknowledged, then the state stores'
/// changes are written to their changelogs and acknowledged, and only then are the input
/// offsets committed. A send that fails (the broker is away longer than `message.timeout.ms`) is
/// retried until it succeeds: a broker outage pauses the loop, it never drops anything.
public final class ProcessingLoop<Processor: RecordProcessor>: Sendable {
    private let configuration: ServiceConfiguration
    /// The business logic, one instance per shard: shard `i` owns the input partitions `p` with
    /// `p % processors.count == i` and processes them on its own thread.
    public let processors: [Processor]
    /// The first shard's processor (the only one when the loop is not sharded).
    public var processor: Processor { processors[0] }
    private let deadLetterTopic: String
    private let logger: Logger
    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let stopRequested = Atomic<Bool>(false)
    private let ready = Atomic<Bool>(false)
    private let counters = Mutex(Counters())
    private let metrics: LoopMetrics
    /// The processors' ``RecordProcessor/ownOutputTopics``.
    private let ownOutputTopics: [String]
    /// Per partition of an own output topic, the offset up to which (inclusive) its records
    /// belong to batches whose state changes are enqueued: each batch's changes carry it, for
    /// their partition, in a ``outputTailHeader`` header, so that a restore reads only the
    /// outputs after it (those the changelog may not reflect) instead of a window sized for the
    /// worst case. Only the first attempt's offsets count: a retried output may land after a later
    /// batch's. Advanced in batch order (where a batch's changes are enqueued), seeded by restores.
    private let outputTails = Mutex<[TopicPartition: Int64]>([:])

    /// The changelog header that says through which offset, per own output topic of the record's
    /// partition, the outputs are reflected by the changes before and with it: `topic:offset`,
    /// comma-separated (topic names have no `:` or `,`).
    public static var outputTailHeader: String { "tandem.outputs-through" }

    /// Batches processed but not yet acknowledged: the next batches are processed meanwhile.
    static var maxInFlight: Int { 8 }

    /// How often ``RecordProcessor/tick(wallNow:into:)`` runs (the consumer reports idleness as often).
    static var tickInterval: Duration { .seconds(1) }

    /// How often a busy loop commits acknowledged offsets. Committing less often only widens what
    /// a crash makes the next owner reprocess, which the stores' offsets make harmless.
    static var commitInterval: Duration { .milliseconds(100) }

    /// A processed batch on its way: its acknowledgements, then its offsets to commit.
    struct InFlightBatch {
        /// Completes once the outputs, then the state changes, are acknowledged, and the previous
        /// batch has completed: its offsets may be committed then.
        let acknowledged: Task<Refused, any Error>
        /// Set once `acknowledged` has completed (it also wakes the loop's consumer then).
        let done: AtomicFlag
        /// Completes once the state changes are handed to the producer (after the outputs'
        /// acknowledgement and the previous batch's changes): the next batch's changes follow them.
        let changesEnqueued: Task<(Delivery, Refused, ProducerBatch), any Error>
        let offsets: [TopicPartitionOffset]
        let records: Int
        let outputs: Int
        let deadLetters: [String: Int]
        let perTopic: [String: Int]
        let started: ContinuousClock.Instant
    }

    /// Outputs the producer or the broker refused for good, and the dead letters written instead.
    struct Refused: Sendable {
        var outputs = 0
        var deadLetters = 0
    }

    /// What the loop has done so far.
    public struct Counters: Sendable, Hashable {
        public var recordsIn = 0
        public var recordsOut = 0
        public var deadLetters: [String: Int] = [:]
        public var batches = 0
        public var retries = 0
        /// When the last batch completed (its outputs and state changes acknowledged): a reader
        /// that polls the counters learns when the loop got somewhere to the instant, however
        /// seldom it polls.
        public var lastCompleted: ContinuousClock.Instant?
    }

    /// Creates the loop's consumer (in the service's group) and producer, with one processor.
    public convenience init(
        configuration: ServiceConfiguration,
        processor: Processor,
        deadLetterTopic: String,
        logger: Logger
    ) throws(KafkaError) {
        try self.init(
            configuration: configuration,
            processors: [processor],
            deadLetterTopic: deadLetterTopic,
            logger: logger
        )
    }

    /// Creates the loop's consumer (in the service's group) and producer, with one processor per
    /// shard: each batch's records are split by partition and the shards process their share in
    /// parallel, each in partition order. Every processor must hold only per-partition state.
    public init(
        configuration: ServiceConfiguration,
        processors: [Processor],
        deadLetterTopic: String,
        logger: Logger
    ) throws(KafkaError) {
        precondition(!processors.isEmpty, "a processing loop needs a processor")
        self.configuration = configuration
        self.processors = processors
        self.deadLetterTopic = deadLetterTopic
        self.logger = logger
        consumer = try KafkaConsumer(
            configuration: configuration.consumerConfiguration,
            maxBatchSize: configuration.maxBatch,
            idleEventInterval: Self.tickInterval,
            logger: logger
        )
        var producerConfiguration = configuration.producerConfiguration
        // No delivery timeout: a record is retried (idempotently, in order) until the broker takes
        // it, however long an outage lasts; state changes rely on that order. Configurable.
        producerConfiguration["message.timeout.ms"] = producerConfiguration["message.timeout.ms"] ?? "0"
        producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        metrics = LoopMetrics(service: configuration.service)
        ownOutputTopics = processors[0].ownOutputTopics
    }

    /// True once partitions are assigned and their state restored.
    public var isReady: Bool { ready.load(ordering: .relaxed) }

    /// A snapshot of the counters.
    public var counts: Counters { counters.withLock { $0 } }

    /// Asks the loop to stop after the batch in hand (its outputs sent, its offsets committed).
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        consumer.stopEvents()
    }

    /// Runs until ``stop()`` or cancellation; then commits, leaves the group and closes the clients.
    /// - Throws: what stopped the loop (e.g. ``UndeliverableStateChange``, a store's restore);
    ///   it has then left the group without committing past it, so the partitions move on at once.
    public func run() async throws {
        do {
            try await consume()
        } catch {
            if !(error is CancellationError) {
                logger.error("processing loop stopped", metadata: ["error": "\(error)"])
            }
            await consumer.close()
            await producer.close(timeout: .seconds(2))
            throw error
        }
    }

    private func consume() async throws {
        try consumer.subscribe(topics: processor.inputTopics)
        var topicNames: [Int: String] = [:]
        var owned = Set<Int32>()
        /// The next offset per partition, committed asynchronously after each batch.
        var progress: [TopicPartition: KafkaOffset] = [:]
        /// Batches whose outputs or state changes are still being acknowledged, oldest first.
        var inFlight: [InFlightBatch] = []
        /// Completes the oldest batch: waits for its acknowledgements, then commits its offsets.
        /// Offsets acknowledged but not yet sent to the group coordinator, and when the last commit went.
        var uncommitted: [TopicPartition: KafkaOffset] = [:]
        var lastCommit = ContinuousClock.now
        func commitAcknowledged() throws {
            guard !uncommitted.isEmpty else { return }
            try consumer.commitAsync(
                uncommitted.map {
                    TopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value)
                }
            )
            uncommitted.removeAll(keepingCapacity: true)
            lastCommit = .now
        }
        func completeOldest() async throws {
            let batch = inFlight.removeFirst()
            let refused = try await batch.acknowledged.value
            for offset in batch.offsets {
                progress[offset.topicPartition] = offset.offset
                uncommitted[offset.topicPartition] = offset.offset
            }
            // Commit at most every commitInterval while busy (each commit is a broker request);
            // at once when the loop catches up, so a quiet service has committed everything.
            if inFlight.isEmpty || ContinuousClock.now - lastCommit >= Self.commitInterval { try commitAcknowledged() }
            record(batch, refused: refused)
        }
        var lastTick = ContinuousClock.now
        var iterator = consumer.events.makeAsyncIterator()
        defer { ready.store(false, ordering: .relaxed) }
        while !stopRequested.load(ordering: .acquiring), !Task.isCancelled {
            // Collect the acknowledgements that came (and commit) without waiting for any: a batch
            // whose acknowledgement completes wakes the consumer's reader, so waiting for records
            // below also waits for acknowledgements — records that arrive meanwhile are not held
            // up behind a batch's round trip to the broker.
            while let oldest = inFlight.first, oldest.done.isSet { try await completeOldest() }
            guard let event = await iterator.next() else { break }
            if case .records = event {
            } else {
                // A rebalance or an error: finish every batch in flight first.
                while !inFlight.isEmpty { try await completeOldest() }
            }
            switch event {
            case .assigned(let partitions):
                let numbers = Set(partitions.map(\.partition)).subtracting(owned)
                for (shard, shardPartitions) in byShard(numbers) {
                    try await restore(shardPartitions, into: processors[shard])
                }
                owned.formUnion(numbers)
                for (shard, shardPartitions) in byShard(numbers) {
                    processors[shard].partitionsAssigned(shardPartitions)
                }
                ready.store(true, ordering: .relaxed)
            case .revoked(let partitions, let lost):
                // Make the last asynchronous commit final before the partitions move: the next
                // owner then starts exactly after what this instance processed.
                let leavingOffsets = partitions.compactMap { partition in
                    progress.removeValue(forKey: partition).map {
                        TopicPartitionOffset(topic: partition.topic, partition: partition.partition, offset: $0)
                    }
                }
                if !lost {
                    do {
                        try await consumer.commit(leavingOffsets)
                    } catch {
                        logger.warning("commit on revocation failed", metadata: ["error": "\(error)"])
                    }
                }
                let still = try consumer.assignment().filter { !partitions.contains($0) }
                let leaving = Set(partitions.map(\.partition)).subtracting(still.map(\.partition))
                for (shard, shardPartitions) in byShard(leaving) {
                    processors[shard].partitionsRevoked(shardPartitions)
                    for partition in shardPartitions {
                        for store in processors[shard].stores { store.drop(partition: partition) }
                    }
                }
                owned.subtract(leaving)
                outputTails.withLock { tails in tails = tails.filter { !leaving.contains($0.key.partition) } }
            case .records(let batch):
                let previous = inFlight.last
                inFlight.append(try await handle(batch, after: previous, topicNames: &topicNames))
                while inFlight.count > Self.maxInFlight { try await completeOldest() }
            case .error(let error):
                logger.warning("consumer error", metadata: ["error": "\(error)"])
            case .idle:
                break
            }
            // At most once a second, busy or idle: idle partitions' event time follows the wall clock.
            if ContinuousClock.now - lastTick >= Self.tickInterval {
                lastTick = .now
                inFlight.append(try await tick(after: inFlight.last))
            }
        }
        while !inFlight.isEmpty { try await completeOldest() }
        await shutdown(
            committing: progress.map {
                TopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value)
            }
        )
    }

    /// Partition numbers grouped by the shard that owns them, sorted.
    private func byShard(_ partitions: Set<Int32>) -> [(shard: Int, partitions: [Int32])] {
        var groups: [Int: [Int32]] = [:]
        for partition in partitions { groups[shard(of: partition), default: []].append(partition) }
        return groups.keys.sorted().map { ($0, groups[$0]!.sorted()) }
    }

    private func shard(of partition: Int32) -> Int {
        processors.count == 1 ? 0 : Int(partition) % processors.count
    }

    /// The shards' results, each written by its own thread only.
    private struct ShardSlots: @unchecked Sendable {
        let base: UnsafeMutablePointer<ShardResult>
    }

    /// What one shard made of its share of a batch.
    private struct ShardResult {
        var output = ProcessorOutput()
        /// Per output record, the index in the consumer batch of the input it came from; -1 for
        /// one made at the batch's end (so a refused output's input can be dead-lettered).
        var origins: [Int32] = []
        var deadLetters: [String: Int] = [:]
    }

    /// Processes one batch and hands its outputs to the producer; the returned task completes once
    /// the outputs are acknowledged and then the state changes are written and acknowledged (after
    /// those of the previous batch, so the changelog keeps the order of the changes).
    private func handle(
        _ batch: ConsumerBatch,
        after previous: InFlightBatch?,
        topicNames: inout [Int: String]
    ) async throws -> InFlightBatch {
        let started = ContinuousClock.now
        // Topic names and counts first (records mostly come in runs of one topic), and each
        // record's shard when there are several.
        var perTopicID: [Int: Int] = [:]
        var runTopicID = -1
        var runLength = 0
        let shards = processors.count
        var indices: [[Int]] = Array(repeating: [], count: shards)
        // Input bytes per shard: the output batch's buffer is reserved from them (outputs are
        // mostly about as large as their inputs), so it is not grown by copying.
        var valueBytes = [Int](repeating: 0, count: shards)
        if shards > 1 {
            for shard in 0..<shards { indices[shard].reserveCapacity(batch.count / shards + 16) }
        }
        for (index, record) in batch.enumerated() {
            let topicID = record.topicID
            if topicID != runTopicID {
                if runLength > 0 { perTopicID[runTopicID, default: 0] += runLength }
                runTopicID = topicID
                runLength = 0
                if topicNames[topicID] == nil { topicNames[topicID] = record.topic }
            }
            runLength += 1
            let shard = shards > 1 ? shard(of: record.partition) : 0
            if shards > 1 { indices[shard].append(index) }
            valueBytes[shard] += record.valueCount
        }
        if runLength > 0 { perTopicID[runTopicID, default: 0] += runLength }
        var perTopic: [String: Int] = [:]
        for (topicID, count) in perTopicID { perTopic[topicNames[topicID] ?? "?", default: 0] += count }

        var results: [ShardResult]
        if shards == 1 {
            var result = ShardResult()
            result.output.batch = Self.outputBatch(records: batch.count, valueBytes: valueBytes[0])
            process(batch, indices: nil, with: processor, topicNames: topicNames, into: &result)
            results = [result]
        } else {
            // The shards' shares on as many threads; each writes only its own result.
            results = Array(repeating: ShardResult(), count: shards)
            let (names, shares, shareBytes) = (topicNames, indices, valueBytes)
            results.withUnsafeMutableBufferPointer { results in
                let slots = ShardSlots(base: results.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: shards) { shard in
                    slots.base[shard].output.batch = Self.outputBatch(
                        records: shares[shard].count,
                        valueBytes: shareBytes[shard]
                    )
                    self.process(
                        batch,
                        indices: shares[shard],
                        with: self.processors[shard],
                        topicNames: names,
                        into: &slots.base[shard]
                    )
                }
            }
        }
        var deadLetters: [String: Int] = [:]
        for result in results {
            deadLetters.merge(result.deadLetters, uniquingKeysWith: +)
        }
        return try await ship(
            results.map(\.output),
            origins: results.map(\.origins),
            inputs: batch,
            after: previous,
            offsets: batch.nextOffsets,
            records: batch.count,
            deadLetters: deadLetters,
            perTopic: perTopic,
            started: started
        )
    }

    /// An empty output batch for `records` inputs of `valueBytes` bytes, its buffer reserved for
    /// their size, a quarter more and a key each.
    private static func outputBatch(records: Int, valueBytes: Int) -> ProducerBatch {
        ProducerBatch(reservingCapacity: records, bytes: valueBytes + valueBytes / 4 + 48 * records)
    }

    /// One shard's records of a batch, in order, through its processor; failures become dead letters.
    ///
    /// - Parameter indices: the shard's records by their place in the batch; nil for all of them.
    ///   A concrete type, not a generic sequence: the loop runs once per record, and a generic
    ///   one was not specialised where it is called from the shards' closure.
    private func process(
        _ batch: ConsumerBatch,
        indices: [Int]?,
        with processor: Processor,
        topicNames: [Int: String],
        into result: inout ShardResult
    ) {
        var runTopicID = -1
        var topic = ""
        let count = indices?.count ?? batch.count
        result.origins.reserveCapacity(count)
        for position in 0..<count {
            let index = indices?[position] ?? position
            let record = batch[index]
            let outputsBefore = result.output.batch.count
            let topicID = record.topicID
            if topicID != runTopicID {
                runTopicID = topicID
                // The shard's own copy: every record retains and releases its topic name, and a
                // string shared with the other shards' threads would bounce between cores.
                topic = String(decoding: Array((topicNames[topicID] ?? record.topic).utf8), as: UTF8.self)
            }
            let failure: ProcessingFailure? = record.withUnsafeKey { key in
                record.withUnsafeValue { value in
                    let input = InputRecord(record, topic: topic, key: key, value: value)
                    do throws(ProcessingFailure) {
                        try processor.process(input, into: &result.output)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            if let failure {
                result.deadLetters[failure.reason, default: 0] += 1
                logger.debug(
                    "record dead-lettered",
                    metadata: [
                        "kafka.topic": "\(topic)", "kafka.partition": "\(record.partition)",
                        "kafka.offset": "\(record.offset)", "reason": "\(failure.reason)",
                    ]
                )
                result.output.send(
                    topic: deadLetterTopic,
                    key: record.key,
                    value: deadLetter(for: record, topic: topic, failure: failure)
                )
            }
            let produced = result.output.batch.count - outputsBefore
            if produced > 0 { result.origins.append(contentsOf: repeatElement(Int32(index), count: produced)) }
        }
        processor.batchProcessed(wallNow: Int64(Date().timeIntervalSince1970 * 1000), into: &result.output)
        let unattributed = result.output.batch.count - result.origins.count
        if unattributed > 0 { result.origins.append(contentsOf: repeatElement(-1, count: unattributed)) }
    }

    /// The dead letter for an input record (its bytes kept for replay).
    private func deadLetter(for record: ConsumerRecordView, topic: String, failure: ProcessingFailure) -> [UInt8] {
        DeadLetters.encode(
            service: configuration.service,
            failure: failure,
            topic: topic,
            partition: record.partition,
            offset: record.offset,
            key: record.key,
            payload: record.value,
            replayOf: record.headers.first { $0.name == DeadLetters.replayHeader }
                .flatMap { $0.value.flatMap { String(validating: $0, as: UTF8.self) } }
        )
    }

    /// Lets the processor move wall-clock driven work on (idle partitions' event time, timers)
    /// and ships what it produced like a batch without input offsets.
    private func tick(after previous: InFlightBatch?) async throws -> InFlightBatch {
        let started = ContinuousClock.now
        let wallNow = Int64(Date().timeIntervalSince1970 * 1000)
        var outputs: [ProcessorOutput] = []
        for processor in processors {
            var output = ProcessorOutput()
            processor.tick(wallNow: wallNow, into: &output)
            outputs.append(output)
        }
        // Lag also while idle (then it shows 0, or what the loop is not getting to).
        metrics.updateLag(consumer)
        return try await ship(
            outputs,
            origins: [],
            inputs: nil,
            after: previous,
            offsets: [],
            records: 0,
            deadLetters: [:],
            perTopic: [:],
            started: started
        )
    }

    /// Hands a batch's outputs to the producer now (in order with the previous batches') and
    /// takes the stores' changes; the returned batch's `acknowledged` completes once the outputs
    /// are acknowledged, then the changes written (after those of the previous batch, so the
    /// changelog keeps the order of the changes) and acknowledged, and the previous batch
    /// completed. The caller commits the input offsets after that.
    private func ship(
        _ outputs: [ProcessorOutput],
        origins: [[Int32]],
        inputs: ConsumerBatch?,
        after previous: InFlightBatch?,
        offsets: [TopicPartitionOffset],
        records: Int,
        deadLetters: [String: Int],
        perTopic: [String: Int],
        started: ContinuousClock.Instant
    ) async throws -> InFlightBatch {
        var deliveries: [(Delivery, ProducerBatch, [Int32])] = []
        for (shard, output) in outputs.enumerated() where !output.batch.isEmpty {
            deliveries.append(
                (await producer.enqueue(output.batch), output.batch, shard < origins.count ? origins[shard] : [])
            )
        }
        var changes = ProducerBatch()
        for processor in processors {
            for store in processor.stores where store.hasChanges {
                try store.appendChanges(to: &changes)
            }
            for store in processor.stores { store.changesFlushed() }
        }
        let stateChanges = changes
        // Changes are written only after the outputs they belong to are acknowledged (a change
        // on the changelog marks its input as applied), in batch order, but without waiting for
        // the previous batch's changes to be acknowledged: the producer (idempotent, no delivery
        // timeout) keeps their order per partition, so the changelog is a pipeline, not a chain.
        let previousEnqueued = previous?.changesEnqueued
        let previousAcknowledged = previous?.acknowledged
        let changesEnqueued = Task {
            var refused = Refused()
            /// The highest offset per partition of the own output topics that this batch's
            /// outputs got at their first attempt (see ``outputTails``).
            var highest: [TopicPartition: Int64] = [:]
            for (delivery, batch, origins) in deliveries {
                let failed = try await self.deliverAll(delivery, batch: batch, what: "outputs") { reports in
                    for topic in self.ownOutputTopics {
                        for (partition, offset) in reports.highestOffsets(topic: topic) {
                            let key = TopicPartition(topic: topic, partition: partition)
                            highest[key] = max(highest[key] ?? -1, offset)
                        }
                    }
                }
                if !failed.isEmpty {
                    let more = try await self.deadLetterRefused(failed, of: batch, origins: origins, inputs: inputs)
                    refused.outputs += more.outputs
                    refused.deadLetters += more.deadLetters
                }
            }
            _ = try await previousEnqueued?.value
            let changes = self.markOutputTails(stateChanges, adding: highest)
            return (await self.producer.enqueue(changes), refused, changes)
        }
        let done = AtomicFlag()
        let consumer = consumer
        let acknowledged = Task {
            defer {
                done.set()
                consumer.wake()
            }
            let (delivery, refused, stateChanges) = try await changesEnqueued.value
            let failed = try await self.deliverAll(delivery, batch: stateChanges, what: "state changes")
            if let first = failed.first {
                // A store's change the broker will never take: committing past it would lose the
                // state, retrying cannot help. Stop, loudly, with what an operator must change.
                let change = stateChanges.record(at: first.index)
                throw UndeliverableStateChange(topic: change.topic, bytes: change.value?.count ?? 0, error: first.error)
            }
            _ = try await previousAcknowledged?.value
            return refused
        }
        return InFlightBatch(
            acknowledged: acknowledged,
            done: done,
            changesEnqueued: changesEnqueued,
            offsets: offsets,
            records: records,
            outputs: outputs.reduce(0) { $0 + $1.count } - deadLetters.values.reduce(0, +),
            deadLetters: deadLetters,
            perTopic: perTopic,
            started: started
        )
    }

    /// Advances ``outputTails`` by a batch's first-attempt output offsets and marks each of the
    /// batch's state changes with the tails of its partition. Called in batch order.
    private func markOutputTails(_ changes: ProducerBatch, adding highest: [TopicPartition: Int64]) -> ProducerBatch {
        guard !ownOutputTopics.isEmpty else { return changes }
        let tails = outputTails.withLock { tails in
            for (partition, offset) in highest where offset > tails[partition] ?? -1 { tails[partition] = offset }
            return tails
        }
        var marked = changes
        for index in 0..<changes.count {
            guard let partition = changes.partition(at: index) else { continue }
            let through = ownOutputTopics.compactMap { topic in
                tails[TopicPartition(topic: topic, partition: partition)].map { (topic, $0) }
            }
            guard !through.isEmpty else { continue }
            marked.setHeaders([KafkaHeader(name: Self.outputTailHeader, value: Self.encodeTails(through))], at: index)
        }
        return marked
    }

    static func encodeTails(_ tails: [(topic: String, offset: Int64)]) -> [UInt8] {
        Array(tails.map { "\($0.topic):\($0.offset)" }.joined(separator: ",").utf8)
    }

    /// The tails an ``outputTailHeader`` names; nil when it cannot be read.
    static func decodeTails(_ value: [UInt8]) -> [String: Int64]? {
        var tails: [String: Int64] = [:]
        for item in String(decoding: value, as: UTF8.self).split(separator: ",") {
            guard let colon = item.lastIndex(of: ":"), let offset = Int64(item[item.index(after: colon)...]),
                offset >= 0
            else { return nil }
            tails[String(item[..<colon])] = offset
        }
        return tails
    }

    /// Counts a completed batch.
    private func record(_ batch: InFlightBatch, refused: Refused) {
        var deadLetters = batch.deadLetters
        if refused.deadLetters > 0 { deadLetters[DeadLetters.undeliverable, default: 0] += refused.deadLetters }
        let outputs = batch.outputs - refused.outputs
        counters.withLock { counters in
            counters.recordsIn += batch.records
            counters.recordsOut += outputs + deadLetters.values.reduce(0, +)
            counters.batches += 1
            for (reason, count) in deadLetters { counters.deadLetters[reason, default: 0] += count }
            counters.lastCompleted = .now
        }
        metrics.batchDone(
            perTopic: batch.perTopic,
            outputs: outputs,
            deadLetters: deadLetters,
            duration: ContinuousClock.now - batch.started
        )
        metrics.updateLag(consumer)
    }

    private func logRetry(what: String, reports: DeliveryReports) {
        counters.withLock { $0.retries += 1 }
        metrics.retried()
        logger.warning(
            "send failed, retrying",
            metadata: [
                "what": "\(what)", "failed": "\(reports.failureCount)",
                "error": "\(reports.firstError.map { "\($0)" } ?? "")",
            ]
        )
    }

    /// Waits for an enqueued batch's acknowledgements; records that failed for a passing reason
    /// (the broker was away longer than `message.timeout.ms`) are sent again, in order, with a
    /// growing pause, until every one is acknowledged. Records refused for good (see
    /// ``KafkaError/isPermanentForRecord``) are not sent again: they are returned, by their index
    /// in `batch`, for the caller to dead-letter.
    private func deliverAll(
        _ first: Delivery,
        batch: ProducerBatch,
        what: String,
        firstRound: (DeliveryReports) -> Void = { _ in }
    ) async throws -> [(index: Int, error: KafkaError)] {
        var delivery = first
        var pending = batch
        /// Each pending record's index in `batch` (nil while that is its own index).
        var positions: [Int]?
        var refused: [(index: Int, error: KafkaError)] = []
        var attempt = 0
        while true {
            let reports = await delivery.reports()
            if attempt == 0 { firstRound(reports) }
            if reports.allDelivered { return refused }
            var retry = ProducerBatch(reservingCapacity: reports.failureCount)
            var retryPositions: [Int] = []
            for index in reports.indices {
                guard let error = reports[index].error else { continue }
                let position = positions?[index] ?? index
                if error.isPermanentForRecord {
                    refused.append((position, error))
                } else {
                    retry.append(pending.record(at: index))
                    retryPositions.append(position)
                }
            }
            if retry.isEmpty { return refused }
            attempt += 1
            logRetry(what: what, reports: reports)
            pending = retry
            positions = retryPositions
            try await Task.sleep(for: .milliseconds(min(5000, 100 << min(attempt, 6))))
            delivery = await producer.enqueue(pending)
        }
    }

    /// Outputs refused for good (larger than the broker takes, invalid): the input each came from
    /// is dead-lettered instead, once, with reason `undeliverable`, so that it can be replayed once
    /// the cause is mended (e.g. the topic's message limit raised). An output made without an
    /// input (at a batch's end, on a tick) is dead-lettered itself. A dead letter refused for good
    /// is written again without its payload, which its source coordinates still locate.
    private func deadLetterRefused(
        _ failed: [(index: Int, error: KafkaError)],
        of batch: ProducerBatch,
        origins: [Int32],
        inputs: ConsumerBatch?
    ) async throws -> Refused {
        var refused = Refused()
        var letters = ProducerBatch()
        /// Dead letters refused for good, again without their payloads.
        var stripped = ProducerBatch()
        var lettered = Set<Int32>()
        for (index, error) in failed {
            let output = batch.record(at: index)
            logger.error(
                "the broker refused a record for good; it is dead-lettered",
                metadata: [
                    "kafka.topic": "\(output.topic)", "bytes": "\(output.value?.count ?? 0)", "error": "\(error)",
                ]
            )
            if output.topic == deadLetterTopic {
                stripped.append(DeadLetters.withoutPayload(output, because: "\(error)"))
                continue
            }
            refused.outputs += 1
            let failure = ProcessingFailure(
                reason: DeadLetters.undeliverable,
                message: "an output to \(output.topic) (\(output.value?.count ?? 0) bytes) was refused: \(error)"
            )
            let origin = index < origins.count ? origins[index] : -1
            if origin >= 0, let inputs, Int(origin) < inputs.count {
                guard lettered.insert(origin).inserted else { continue }
                let input = inputs[Int(origin)]
                letters.append(
                    topic: deadLetterTopic,
                    key: input.key,
                    value: deadLetter(for: input, topic: input.topic, failure: failure)
                )
            } else {
                letters.append(
                    topic: deadLetterTopic,
                    key: output.key,
                    value: DeadLetters.encode(
                        service: configuration.service,
                        failure: failure,
                        topic: output.topic,
                        partition: -1,
                        offset: -1,
                        key: output.key,
                        payload: output.value
                    )
                )
            }
            refused.deadLetters += 1
        }
        if !letters.isEmpty {
            let sent = letters
            for (index, error) in try await deliverAll(await producer.enqueue(sent), batch: sent, what: "dead letters")
            {
                // Too large even as a dead letter (its payload with the letter's fields).
                stripped.append(DeadLetters.withoutPayload(sent.record(at: index), because: "\(error)"))
            }
        }
        if !stripped.isEmpty {
            let sent = stripped
            for (index, error) in try await deliverAll(await producer.enqueue(sent), batch: sent, what: "dead letters")
            {
                logger.critical(
                    "a dead letter without payload was refused for good and is lost",
                    metadata: [
                        "kafka.topic": "\(deadLetterTopic)", "bytes": "\(sent.record(at: index).value?.count ?? 0)",
                        "error": "\(error)",
                    ]
                )
            }
        }
        return refused
    }

    /// Restores every store's partitions from their changelogs before any of their records is processed.
    private func restore(_ partitions: [Int32], into processor: Processor) async throws {
        let stores = processor.stores
        guard !stores.isEmpty || !processor.ownOutputTopics.isEmpty, !partitions.isEmpty else { return }
        let start = ContinuousClock.now
        var restoreConfiguration = configuration.producerConfiguration
        restoreConfiguration["group.id"] = configuration.groupID + ".restore"
        let reader = try KafkaConsumer(configuration: restoreConfiguration, logger: logger)
        var ends: [TopicPartition: Int64] = [:]
        var assignment: [TopicPartitionOffset] = []
        for store in stores {
            for partition in partitions {
                store.prepare(partition: partition)
                let marks = try await reader.queryWatermarks(topic: store.changelogTopic, partition: partition)
                if marks.high > marks.low {
                    ends[TopicPartition(topic: store.changelogTopic, partition: partition)] = marks.high
                    assignment.append(
                        TopicPartitionOffset(topic: store.changelogTopic, partition: partition, offset: .beginning)
                    )
                }
            }
        }
        /// Per changelog partition, the output tails its last marked record names, and that mark's
        /// bytes: the changes of one batch share their mark, so it is decoded only when it changes.
        var marked: [TopicPartition: (tails: [String: Int64], bytes: [UInt8])] = [:]
        let restored = try await readToEnd(reader, assignment, ends: ends) { record in
            for store in stores where store.changelogTopic == record.topic { try store.apply(changelogRecord: record) }
            guard !ownOutputTopics.isEmpty else { return }
            record.withUnsafeHeader(named: Self.outputTailHeader) { value in
                guard let value else { return }
                let changelog = TopicPartition(topic: record.topic, partition: record.partition)
                if let held = marked[changelog], held.bytes.elementsEqual(value) { return }
                let bytes = Array(value)
                if let tails = Self.decodeTails(bytes) { marked[changelog] = (tails, bytes) }
            }
        }
        // The tails of the processor's own outputs that the changelog may not reflect: after the
        // offset every store's last marked change names (the least of them). Without such a
        // mark (a changelog written before marks, a store with no change yet), every output
        // that can be newer than the changelog: those of the batches in flight at a crash, at
        // most (maxInFlight + 1) × maxBatch input records, each with at most one output.
        let window = Int64((Self.maxInFlight + 2) * configuration.maxBatch)
        var tails: [TopicPartitionOffset] = []
        var tailEnds: [TopicPartition: Int64] = [:]
        var reflected: [TopicPartition: Int64] = [:]
        for topic in ownOutputTopics {
            for partition in partitions {
                let marks = try await reader.queryWatermarks(topic: topic, partition: partition)
                var through: Int64? = stores.isEmpty ? nil : .max
                for store in stores {
                    let mark = marked[TopicPartition(topic: store.changelogTopic, partition: partition)]?.tails[topic]
                    through = mark.flatMap { mark in through.map { min($0, mark) } }
                }
                let output = TopicPartition(topic: topic, partition: partition)
                if let through { reflected[output] = through }
                let start = max(marks.low, min(marks.high, through.map { $0 + 1 } ?? marks.high - window))
                guard marks.high > start else { continue }
                tails.append(TopicPartitionOffset(topic: topic, partition: partition, offset: KafkaOffset(start)))
                tailEnds[output] = marks.high
            }
        }
        let tailRecords = try await readToEnd(reader, tails, ends: tailEnds) { record in
            record.withUnsafeKey { key in
                record.withUnsafeValue { value in
                    processor.restoreOutputTail(InputRecord(record, topic: record.topic, key: key, value: value))
                }
            }
        }
        await reader.close()
        outputTails.withLock { tails in
            for (output, through) in reflected where through > tails[output] ?? -1 { tails[output] = through }
        }
        logger.info(
            "state restored",
            metadata: [
                "partitions": "\(partitions)", "records": "\(restored)", "output tail records": "\(tailRecords)",
                "duration": "\(ContinuousClock.now - start)",
            ]
        )
    }

    /// Reads the assigned partitions from their start offsets up to `ends` (exclusive), handing
    /// every record to `apply`. - Returns: the number of records read.
    private func readToEnd(
        _ reader: KafkaConsumer,
        _ assignment: [TopicPartitionOffset],
        ends: [TopicPartition: Int64],
        apply: (ConsumerRecordView) throws -> Void
    ) async throws -> Int {
        guard !assignment.isEmpty else { return 0 }
        try reader.assign(assignment)
        var remaining = ends
        var read = 0
        var iterator = reader.events.makeAsyncIterator()
        while !remaining.isEmpty, let event = await iterator.next() {
            guard case .records(let batch) = event else { continue }
            for record in batch {
                let partition = TopicPartition(topic: record.topic, partition: record.partition)
                guard let end = remaining[partition], record.offset < end else { continue }
                try apply(record)
                read += 1
                if record.offset + 1 >= end { remaining[partition] = nil }
            }
        }
        return read
    }

    private func shutdown(committing offsets: [TopicPartitionOffset]) async {
        // Every handled batch's offsets were committed asynchronously; make the last one final.
        do {
            try await consumer.commit(offsets)
        } catch {
            logger.debug("final commit", metadata: ["error": "\(error)"])
        }
        await consumer.close()
        await producer.close()
    }
}
