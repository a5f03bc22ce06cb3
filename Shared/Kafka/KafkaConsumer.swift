internal import CRDKafka
public import Logging
import Synchronization

/// What a consumer hands out, in order.
public enum ConsumerEvent: Sendable {
    /// Records fetched together (see ``ConsumerBatch``).
    case records(ConsumerBatch)
    /// The group gave this consumer partitions. Delivered before any of their records: restore
    /// per-partition state (or ``KafkaConsumer/seek(_:timeout:)``) before asking for the next event.
    case assigned([TopicPartition])
    /// Partitions leave this consumer. The group waits until the next event is requested, so
    /// commit and drop per-partition state before asking for it. `lost` is true when the
    /// partitions were already taken away (session timeout): committing for them will fail.
    case revoked([TopicPartition], lost: Bool)
    /// A non-fatal consumer error (e.g. a fetch error on one partition); consuming goes on.
    case error(KafkaError)
    /// Nothing arrived for the consumer's `idleEventInterval`: a chance to move wall-clock driven
    /// work on (idle partitions' event time, timers). Only sent when that interval is set.
    case idle
}

/// A Kafka consumer over librdkafka, in a consumer group (``subscribe(topics:)``) or with a
/// manual assignment (``assign(_:)``).
///
/// Fetched records are handed out in batches, read in place (``events``), or one owned record
/// at a time (``records``). A dedicated poll thread runs librdkafka's consume loop, so Swift's
/// cooperative pool never blocks.
///
/// Offsets are the caller's: the wrapper's defaults turn off automatic offset storing and
/// committing. After processing, ``store(_:)`` and ``commit()`` — or ``commit(_:)`` — record
/// progress; a restarted consumer resumes from its last commit.
///
/// Defaults: `enable.auto.commit=false`, `enable.auto.offset.store=false`,
/// `auto.offset.reset=earliest` (a new group reads everything rather than skipping),
/// `partition.assignment.strategy=cooperative-sticky` (a rebalance moves only the partitions
/// that change owner), and a large pre-fetch queue (librdkafka 2.0 backs off a whole second when
/// the queue is over its limits, which a fast reader otherwise hits constantly).
public final class KafkaConsumer: Sendable {
    public static let defaults: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "queued.min.messages": "1000000",
        "queued.max.messages.kbytes": "1048576",
    ]

    let client: RDKafkaClient
    private let callbacks: ConsumerCallbacks
    private let channel: EventChannel<ConsumerEvent>
    private let stopping = AtomicFlag()
    private let closed = AtomicFlag()
    private let pollThread: PollThread
    private let logger: Logger

    /// Creates a consumer and starts its poll thread.
    ///
    /// - Parameters:
    ///   - configuration: librdkafka properties; `bootstrap.servers` is required, `group.id` too
    ///     for ``subscribe(topics:)`` and commits.
    ///   - maxBatchSize: the most records handed out in one ``ConsumerBatch``.
    ///   - idleEventInterval: when set, a ``ConsumerEvent/idle`` is handed out whenever nothing else
    ///     was for this long.
    ///   - logger: where librdkafka's logs and consumer errors go.
    public init(
        configuration: KafkaConfiguration,
        maxBatchSize: Int = 4096,
        idleEventInterval: Duration? = nil,
        logger: Logger = Logger(label: "tandem.kafka.consumer")
    ) throws(KafkaError) {
        var configuration = configuration.withDefaults(Self.defaults)
        if configuration["group.id"] == nil {
            // librdkafka requires a group id for a KafkaConsumer; manual assignment does not use it.
            configuration["group.id"] = "tandem-unassigned"
        }
        let channel = EventChannel<ConsumerEvent>(capacity: 4)
        let callbacks = ConsumerCallbacks(logger: logger, channel: channel)
        self.channel = channel
        self.callbacks = callbacks
        self.logger = logger
        self.client = try RDKafkaClient(.consumer, configuration: configuration, callbacks: callbacks) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
                guard let rk, let partitions, let opaque else { return }
                Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue().rebalance(rk, err, partitions)
            }
        }
        // Route the main queue (rebalances, errors, logs) into the consumer queue, served by one thread.
        rd_kafka_poll_set_consumer(client.handle)
        callbacks.closing = closed
        let client = self.client
        let stopping = self.stopping
        let batchSize = max(1, maxBatchSize)
        self.pollThread = PollThread(name: "tandem-kafka-consumer-poll") {
            Self.pollLoop(
                client: client,
                channel: channel,
                stopping: stopping,
                batchSize: batchSize,
                idle: idleEventInterval
            )
        }
    }

    /// The consume loop on the dedicated poll thread.
    private static func pollLoop(
        client: RDKafkaClient,
        channel: EventChannel<ConsumerEvent>,
        stopping: AtomicFlag,
        batchSize: Int,
        idle: Duration?
    ) {
        let queue = rd_kafka_queue_get_consumer(client.handle)!
        defer { rd_kafka_queue_destroy(queue) }
        let clock = ContinuousClock()
        var lastSent = clock.now
        while !stopping.isSet {
            let buffer = UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(
                capacity: batchSize
            )
            // Wait up to 100 ms for the first record (so stopping is noticed), then take whatever
            // else is already fetched without waiting: low latency when quiet, full batches when busy.
            var count = rd_kafka_consume_batch_queue(queue, 100, buffer.baseAddress, 1)
            if count == 1, batchSize > 1 {
                let more = rd_kafka_consume_batch_queue(queue, 0, buffer.baseAddress! + 1, batchSize - 1)
                if more > 0 { count += more }
            }
            guard count > 0 else {
                buffer.deallocate()
                if let idle, clock.now - lastSent >= idle {
                    channel.send(.idle)
                    lastSent = clock.now
                }
                continue
            }
            lastSent = clock.now
            // Error events arrive as messages with `err` set: hand them out separately.
            var kept = 0
            for index in 0..<count {
                let message = buffer[index]!
                if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    buffer[kept] = message
                    kept += 1
                } else {
                    let err = message.pointee.err
                    let detail = rd_kafka_message_errstr(message).map { String(cString: $0) }
                    rd_kafka_message_destroy(message)
                    if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                        channel.send(.error(.rd(.consume, "consumer error", err, detail: detail)))
                    }
                }
            }
            if kept > 0 {
                channel.send(.records(ConsumerBatch(messages: buffer, count: kept, client: client)))
            } else {
                buffer.deallocate()
            }
        }
    }

    /// Joins the group's subscription to `topics`; partitions arrive as ``ConsumerEvent/assigned(_:)``.
    public func subscribe(topics: [String]) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, -1) }
        let err = rd_kafka_subscribe(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.consume, "subscribe to \(topics) failed", err) }
    }

    /// Consumes exactly these partitions, outside any group rebalancing, from the given offsets
    /// (``KafkaOffset/stored`` for the committed one).
    public func assign(_ partitions: [TopicPartitionOffset]) throws(KafkaError) {
        let err = withPartitionList(partitions) { rd_kafka_assign(client.handle, $0) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.consume, "assign failed", err) }
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(client.handle, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw .rd(.consume, "assignment failed", err) }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return partitions(of: list).map(\.topicPartition)
    }

    /// Everything the consumer hands out: batches of records and rebalance events, in order.
    ///
    /// - Important: one task reads at a time; the sequence ends after ``close()``.
    public var events: ConsumerEvents { ConsumerEvents(channel: channel) }

    /// Records one at a time, each an owned copy. Simpler than ``events`` and slower: rebalance
    /// events are not shown (partitions are still assigned and revoked) and errors are logged.
    public var records: ConsumerRecords { ConsumerRecords(channel: channel, logger: logger) }

    /// Stores offsets to be committed by the next ``commit()``. Give the *next* offset to read
    /// (last processed + 1), as ``ConsumerBatch/nextOffsets`` does.
    public func store(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let err = withPartitionList(offsets) { rd_kafka_offsets_store(client.handle, $0) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.commit, "storing offsets failed", err) }
    }

    /// Commits the stored offsets and waits for the group coordinator's answer.
    public func commit() async throws(KafkaError) {
        let client = self.client
        let err = await runBlocking { rd_kafka_commit(client.handle, nil, 0) }
        // _NO_OFFSET: nothing stored since the last commit, which is not a failure.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw .rd(.commit, "commit failed", err)
        }
    }

    /// Starts committing these offsets without waiting for the answer; commits are sent in order,
    /// and a failure is logged (a later commit covers it). Use ``commit(_:)`` where the answer matters.
    public func commitAsync(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let err = withPartitionList(offsets) { rd_kafka_commit(client.handle, $0, 1) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.commit, "commit failed", err) }
    }

    /// Commits exactly these offsets (next offset to read per partition) and waits for the answer.
    public func commit(_ offsets: [TopicPartitionOffset]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let client = self.client
        let err = await runBlocking { withPartitionList(offsets) { rd_kafka_commit(client.handle, $0, 0) } }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.commit, "commit failed", err) }
    }

    /// The group's committed offsets for these partitions (``KafkaOffset/invalid`` where none).
    public func committed(
        _ partitions: [TopicPartition],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [TopicPartitionOffset] {
        let client = self.client
        let milliseconds = timeout.milliseconds
        let request = partitions.map {
            TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: .invalid)
        }
        let result: Result<[TopicPartitionOffset], KafkaError> = await runBlocking {
            withPartitionList(request) { list in
                let err = rd_kafka_committed(client.handle, list, milliseconds)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return .failure(.rd(.commit, "fetching committed offsets failed", err))
                }
                return .success(Kafka.partitions(of: list))
            }
        }
        return try result.get()
    }

    /// Moves the fetch position of assigned partitions. Records already fetched into the event
    /// buffer are still handed out; check offsets when that matters.
    public func seek(_ positions: [TopicPartitionOffset], timeout: Duration = .seconds(10)) async throws(KafkaError) {
        let client = self.client
        let milliseconds = timeout.milliseconds
        let failure: KafkaError? = await runBlocking {
            withPartitionList(positions) { list -> KafkaError? in
                if let error = rd_kafka_seek_partitions(client.handle, list, milliseconds) {
                    return .consuming(.consume, "seek failed", error)
                }
                for element in UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt))
                where element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return .rd(
                        .consume,
                        "seek of \(String(cString: element.topic))/\(element.partition) failed",
                        element.err
                    )
                }
                return nil
            }
        }
        if let failure { throw failure }
    }

    /// Stops fetching these partitions until ``resume(_:)``; the assignment is kept.
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        try pauseOrResume(partitions, pause: true)
    }

    /// Fetches these partitions again after ``pause(_:)``.
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        try pauseOrResume(partitions, pause: false)
    }

    private func pauseOrResume(_ partitions: [TopicPartition], pause: Bool) throws(KafkaError) {
        let request = partitions.map {
            TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: .invalid)
        }
        let err = withPartitionList(request) { list in
            pause ? rd_kafka_pause_partitions(client.handle, list) : rd_kafka_resume_partitions(client.handle, list)
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.consume, pause ? "pause failed" : "resume failed", err) }
    }

    /// Asks the partition's leader for its low and high watermarks (first offset kept, offset after the last record).
    public func queryWatermarks(
        topic: String,
        partition: Int32,
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> (low: Int64, high: Int64) {
        let client = self.client
        let milliseconds = timeout.milliseconds
        let result: Result<(Int64, Int64), KafkaError> = await runBlocking {
            var low: Int64 = -1
            var high: Int64 = -1
            let err = rd_kafka_query_watermark_offsets(client.handle, topic, partition, &low, &high, milliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return .failure(.rd(.consume, "watermarks of \(topic)/\(partition) unavailable", err))
            }
            return .success((low, high))
        }
        return try result.get()
    }

    /// The high watermarks (offset after the last record) of many partitions at once: one
    /// ListOffsets request per leader, where ``queryWatermarks(topic:partition:timeout:)`` makes
    /// one round trip per partition.
    public func highWatermarks(
        _ partitions: [TopicPartition],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let client = self.client
        let milliseconds = timeout.milliseconds
        // Timestamp -1 (RD_KAFKA_OFFSET_END) asks ListOffsets for the latest offset.
        let request = partitions.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: .end) }
        let result: Result<[TopicPartition: Int64], KafkaError> = await runBlocking {
            withPartitionList(request) { list in
                let err = rd_kafka_offsets_for_times(client.handle, list, milliseconds)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return .failure(.rd(.consume, "high watermarks unavailable", err))
                }
                var ends: [TopicPartition: Int64] = [:]
                for element in UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt)) {
                    let partition = TopicPartition(topic: String(cString: element.topic), partition: element.partition)
                    if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        return .failure(.rd(.consume, "high watermark of \(partition) unavailable", element.err))
                    }
                    ends[partition] = element.offset
                }
                return .success(ends)
            }
        }
        return try result.get()
    }

    /// The partitions this consumer's group has not committed to their end: committed offset (0
    /// when none) below the high watermark. Empty when the group has processed everything.
    ///
    /// - Parameter ends: high watermarks already fetched (one ``highWatermarks(_:timeout:)`` for
    ///   several groups' partitions); nil asks the broker for these partitions'.
    public func uncommitted(
        _ partitions: [TopicPartition],
        ends: [TopicPartition: Int64]? = nil,
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [PartitionProgress] {
        let high: [TopicPartition: Int64]
        if let ends { high = ends } else { high = try await highWatermarks(partitions, timeout: timeout) }
        return try await committed(partitions, timeout: timeout).compactMap { entry in
            let committed = max(0, entry.offset.rawValue)
            let end = high[entry.topicPartition] ?? 0
            return committed < end
                ? PartitionProgress(topicPartition: entry.topicPartition, committed: committed, high: end) : nil
        }
    }

    /// Lag per assigned partition, from the fetcher's cached high watermarks (no broker round trip).
    public func lag() throws(KafkaError) -> [PartitionLag] {
        let assigned = try assignment()
        guard !assigned.isEmpty else { return [] }
        let request = assigned.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: .invalid) }
        let positions: [TopicPartitionOffset] = withPartitionList(request) { list in
            _ = rd_kafka_position(client.handle, list)
            return partitions(of: list)
        }
        return positions.map { position in
            var low: Int64 = -1001
            var high: Int64 = -1001
            _ = rd_kafka_get_watermark_offsets(client.handle, position.topic, position.partition, &low, &high)
            return PartitionLag(
                topic: position.topic,
                partition: position.partition,
                position: position.offset,
                highWatermark: KafkaOffset(rawValue: high)
            )
        }
    }

    /// Wakes the reader of ``events``: if it waits, it gets an ``ConsumerEvent/idle`` now; if not,
    /// its next call returns one at once (unless an event is ready anyway). Never blocks; any
    /// thread or task may call it — e.g. when something the reader also waits for has happened.
    public func wake() {
        channel.nudge(.idle)
    }

    /// True when ``events`` has an event ready, so the next call returns without waiting.
    /// A reader with other work (acknowledgements to collect, timers) can do it while this is false.
    public var hasEventReady: Bool { channel.hasBuffered }

    /// Ends ``events`` now, without closing: the reader's next call returns nil. Records fetched
    /// but not yet handed out are released unprocessed (their offsets are not committed, so the
    /// group delivers them again). Used to stop a processing loop that waits for records.
    public func stopEvents() {
        channel.finish()
    }

    /// Batches fetched but never read hold the client (their records must be destroyed before
    /// its handle), and the client reaches them through its callbacks and this consumer's
    /// channel: without this, a consumer closed with unread batches — a reader that stopped
    /// early — kept its librdkafka handle, threads, sockets and fetched records until the process
    /// exited. No one can read them once the consumer is gone.
    deinit {
        channel.discardBuffered()
    }

    /// Leaves the group (a final revocation is delivered but not waited for), stops the poll
    /// thread and ends ``events``. Commit what you processed before calling it.
    public func close() async {
        guard closed.setOnce() else { return }
        stopping.set()
        channel.stopBlocking()
        await pollThread.join()
        let client = self.client
        let err = await runBlocking { rd_kafka_consumer_close(client.handle) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning(
                "consumer close reported an error",
                metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(err)))"]
            )
        }
        channel.finish()
    }
}

/// Consumer callbacks: rebalances become events, in order with the records.
final class ConsumerCallbacks: RDKafkaCallbacks, @unchecked Sendable {
    let channel: EventChannel<ConsumerEvent>
    /// Set once the consumer is closing: the final revocation is not waited for.
    nonisolated(unsafe) var closing: AtomicFlag?

    init(logger: Logger, channel: EventChannel<ConsumerEvent>) {
        self.channel = channel
        super.init(logger: logger)
    }

    override func rebalance(
        _ handle: OpaquePointer,
        _ err: rd_kafka_resp_err_t,
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        let changed = partitions(of: list).map(\.topicPartition)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, list) {
                    channel.send(.error(.consuming(.consume, "incremental assign failed", error)))
                }
            } else {
                let assignErr = rd_kafka_assign(handle, list)
                if assignErr != RD_KAFKA_RESP_ERR_NO_ERROR {
                    channel.send(.error(.rd(.consume, "assign failed", assignErr)))
                }
            }
            logger.info("partitions assigned", metadata: ["kafka.partitions": "\(changed)"])
            if !changed.isEmpty { channel.send(.assigned(changed)) }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(handle) != 0
            logger.info("partitions revoked", metadata: ["kafka.partitions": "\(changed)", "kafka.lost": "\(lost)"])
            if !changed.isEmpty, let sequence = channel.send(.revoked(changed, lost: lost)),
                closing?.isSet != true
            {
                // Let the reader save state and commit before the partitions go.
                channel.waitUntilHandled(sequence)
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, list) { rd_kafka_error_destroy(error) }
            } else {
                _ = rd_kafka_assign(handle, nil)
            }
        default:
            logger.error("rebalance failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(err)))"])
            _ = rd_kafka_assign(handle, nil)
        }
    }
}

/// The consumer's events as an `AsyncSequence`.
public struct ConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = ConsumerEvent
    let channel: EventChannel<ConsumerEvent>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: EventChannel<ConsumerEvent>
        public mutating func next() async -> ConsumerEvent? { await channel.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
}

/// The consumer's records, one owned copy at a time, as an `AsyncSequence`.
public struct ConsumerRecords: AsyncSequence, Sendable {
    public typealias Element = KafkaRecord
    let channel: EventChannel<ConsumerEvent>
    let logger: Logger

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: EventChannel<ConsumerEvent>
        let logger: Logger
        var batch: ConsumerBatch?
        var index = 0

        public mutating func next() async -> KafkaRecord? {
            while true {
                if let batch, index < batch.count {
                    defer { index += 1 }
                    return batch[index].record
                }
                batch = nil
                guard let event = await channel.next() else { return nil }
                switch event {
                case .records(let next):
                    batch = next
                    index = 0
                case .error(let error):
                    logger.warning("consumer error", metadata: ["kafka.error": "\(error)"])
                case .assigned, .revoked, .idle:
                    continue
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel, logger: logger) }
}

extension Duration {
    /// Whole milliseconds, clamped to librdkafka's `int` timeouts.
    var milliseconds: Int32 {
        Int32(clamping: components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
