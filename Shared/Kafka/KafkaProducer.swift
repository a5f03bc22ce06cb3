internal import CRDKafka
import Foundation
public import Logging
import Synchronization

/// A Kafka producer over librdkafka.
///
/// Defaults: idempotence on (`enable.idempotence=true`: no duplicates or reordering from
/// retries), `partitioner=murmur2_random` (keys land on the partition the Java client would
/// choose), `linger.ms=5`. Any property can be overridden through the configuration.
///
/// Sending never drops a record: when librdkafka's queue (`queue.buffering.max.messages`,
/// `queue.buffering.max.kbytes`) is full the sender is suspended until delivery reports free
/// space. Delivery reports are served by a dedicated poll thread, never by Swift's cooperative pool.
///
/// - Important: Call ``close(timeout:)`` when done; it flushes what is still queued.
public final class KafkaProducer: Sendable {
    /// The wrapper's defaults, underneath the caller's configuration.
    public static let defaults: [String: String] = [
        "enable.idempotence": "true",
        "partitioner": "murmur2_random",
        "linger.ms": "5",
    ]

    private let client: RDKafkaClient
    private let callbacks: ProducerCallbacks
    private let space = SpaceSignal()
    private let topics = Mutex<[String: OpaquePointer]>([:])
    private let stopped = AtomicFlag()
    private let backPressureWaitCount = Atomic<Int>(0)
    private let pollThread: PollThread
    private let logger: Logger

    /// Creates a producer and starts its poll thread.
    ///
    /// - Parameters:
    ///   - configuration: librdkafka properties; `bootstrap.servers` is required.
    ///   - logger: where librdkafka's logs and client errors go.
    /// - Throws: ``KafkaError/Code/configuration`` for a rejected property, ``KafkaError/Code/client``
    ///   when librdkafka cannot create the client.
    public init(
        configuration: KafkaConfiguration,
        logger: Logger = Logger(label: "tandem.kafka.producer")
    ) throws(KafkaError) {
        let callbacks = ProducerCallbacks(logger: logger)
        self.callbacks = callbacks
        self.logger = logger
        self.client = try RDKafkaClient(
            .producer,
            configuration: configuration.withDefaults(Self.defaults),
            callbacks: callbacks
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let opaque else { return }
                Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue().deliveryReport(message)
            }
        }
        let client = self.client
        let space = self.space
        let stopped = self.stopped
        self.pollThread = PollThread(name: "tandem-kafka-producer-poll") {
            while !stopped.isSet {
                let served = rd_kafka_poll(client.handle, 100)
                // Served reports free queue space: let suspended senders try again.
                space.signal()
                // Under load, let reports gather for a moment: one wake-up then serves many
                // (on two cores every context switch is taken from the broker threads).
                if served > 0 { usleep(200) }
            }
        }
    }

    /// Sends one record and waits for the broker's acknowledgement.
    ///
    /// - Returns: where the record was written.
    /// - Throws: ``KafkaError/Code/delivery`` when the broker did not take it (the error carries
    ///   librdkafka's code), ``KafkaError/Code/closed`` after ``close(timeout:)``.
    @discardableResult
    public func send(_ record: ProducerRecord) async throws(KafkaError) -> DeliveryReport {
        var batch = ProducerBatch(reservingCapacity: 1)
        batch.append(record)
        let report = try await send(batch)[0]
        if let error = report.error { throw error }
        return report
    }

    /// Sends many records and waits until the broker has acknowledged or refused each of them.
    ///
    /// Records are handed to librdkafka in order; when its queue is full the call suspends
    /// until there is space (back-pressure), so nothing is dropped.
    ///
    /// - Returns: one report per record, in the batch's order. A record the broker refused has a
    ///   report with an ``DeliveryReport/error``; the call itself throws only when the producer is closed.
    public func send(_ batch: ProducerBatch) async throws(KafkaError) -> DeliveryReports {
        await enqueue(batch).reports()
    }

    /// Hands every record of the batch to librdkafka, in order, and returns without waiting for the
    /// broker; ``Delivery/reports()`` waits for the acknowledgements.
    ///
    /// Enqueueing suspends only while librdkafka's queue is full (back-pressure). Batches enqueued
    /// one after the other keep their order per partition, so a caller can enqueue the next batch
    /// while the previous one is still in flight. After ``close(timeout:)`` the records not yet
    /// handed over fail with ``KafkaError/Code/closed``.
    public func enqueue(_ batch: ProducerBatch) async -> Delivery {
        let pending = PendingDelivery(count: batch.count)
        var next = 0
        while next < batch.count {
            if stopped.isSet {
                pending.failUnsent(from: next, error: KafkaError(.closed, reason: "producer closed while sending"))
                break
            }
            let generation = space.generation
            next = enqueue(batch, from: next, into: pending)
            if next < batch.count {
                backPressureWaitCount.add(1, ordering: .relaxed)
                await space.wait(after: generation)
            }
        }
        return Delivery(pending: pending, batch: batch)
    }

    /// Hands records to librdkafka from `start` until its queue is full or the batch is done.
    /// - Returns: the index of the first record not enqueued.
    private func enqueue(_ batch: ProducerBatch, from start: Int, into pending: PendingDelivery) -> Int {
        let topicHandles = batch.topics.map(topicHandle)
        return batch.bytes.withUnsafeBytes { bytes -> Int in
            var vus = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 8)
            return vus.withUnsafeMutableBufferPointer { vu -> Int in
                var index = start
                while index < batch.count {
                    let entry = batch.entries[index]
                    var n = 0
                    vu[n].vtype = RD_KAFKA_VTYPE_RKT
                    vu[n].u.rkt = topicHandles[Int(entry.topicIndex)]
                    n += 1
                    vu[n].vtype = RD_KAFKA_VTYPE_PARTITION
                    vu[n].u.i32 = entry.partition
                    n += 1
                    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    vu[n].u.i = 0x2  // RD_KAFKA_MSG_F_COPY: librdkafka copies key and value before returning.
                    n += 1
                    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE
                    vu[n].u.ptr = UnsafeMutableRawPointer(pending.slot(index))
                    n += 1
                    if entry.keyCount >= 0 {
                        vu[n].vtype = RD_KAFKA_VTYPE_KEY
                        vu[n].u.mem.ptr = UnsafeMutableRawPointer(
                            mutating: bytes.baseAddress.map { $0 + entry.keyStart }
                        )
                        vu[n].u.mem.size = entry.keyCount
                        n += 1
                    }
                    if entry.valueCount >= 0 {
                        vu[n].vtype = RD_KAFKA_VTYPE_VALUE
                        vu[n].u.mem.ptr = UnsafeMutableRawPointer(
                            mutating: bytes.baseAddress.map { $0 + entry.valueStart }
                        )
                        vu[n].u.mem.size = entry.valueCount
                        n += 1
                    }
                    if entry.timestamp != 0 {
                        vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP
                        vu[n].u.i64 = entry.timestamp
                        n += 1
                    }
                    var headerList: OpaquePointer?
                    if let headers = entry.headers {
                        let list = rd_kafka_headers_new(headers.count)!
                        for header in headers {
                            if let value = header.value {
                                value.withUnsafeBytes {
                                    _ = rd_kafka_header_add(list, header.name, -1, $0.baseAddress, $0.count)
                                }
                            } else {
                                _ = rd_kafka_header_add(list, header.name, -1, nil, 0)
                            }
                        }
                        vu[n].vtype = RD_KAFKA_VTYPE_HEADERS
                        vu[n].u.headers = list
                        n += 1
                        headerList = list
                    }
                    guard let error = rd_kafka_produceva(client.handle, vu.baseAddress, n) else {
                        index += 1  // Enqueued; librdkafka owns the header list now.
                        continue
                    }
                    // On failure the header list is still ours.
                    if let headerList { rd_kafka_headers_destroy(headerList) }
                    let code = rd_kafka_error_code(error)
                    if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                        rd_kafka_error_destroy(error)
                        return index
                    }
                    pending.failNow(index, error: .consuming(.produce, "record could not be enqueued", error))
                    index += 1
                }
                return index
            }
        }
    }

    /// The cached `rd_kafka_topic_t` for a topic (created once, destroyed at close).
    private func topicHandle(_ name: String) -> OpaquePointer {
        topics.withLock { cache in
            if let handle = cache[name] { return handle }
            let handle = rd_kafka_topic_new(client.handle, name, nil)!
            cache[name] = handle
            return handle
        }
    }

    /// How many times a sender has been suspended because librdkafka's queue was full.
    public var backPressureWaits: Int { backPressureWaitCount.load(ordering: .relaxed) }

    /// Number of records and requests librdkafka still holds (queued, in flight, or awaiting a report).
    public var outstanding: Int { Int(rd_kafka_outq_len(client.handle)) }

    /// Waits until every queued record has been acknowledged or has failed.
    ///
    /// - Throws: ``KafkaError/Code/timeout`` when records are still outstanding after `timeout`.
    public func flush(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let client = self.client
        let milliseconds = timeout.milliseconds
        let err = await runBlocking { rd_kafka_flush(client.handle, milliseconds) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .rd(.timeout, "flush did not finish: \(outstanding) records outstanding", err)
        }
    }

    /// Flushes, stops the poll thread and releases the client. Records still unacknowledged after
    /// `timeout` fail with a delivery error. Calling it twice is harmless.
    public func close(timeout: Duration = .seconds(10)) async {
        guard !stopped.isSet else { return }
        do {
            try await flush(timeout: timeout)
        } catch {
            logger.warning(
                "producer closed with records outstanding",
                metadata: ["kafka.outstanding": "\(outstanding)"]
            )
            // Fail what is left so that every waiting sender is answered.
            rd_kafka_purge(client.handle, 0x1 | 0x2)  // RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT
            _ = await runBlocking { [client] in rd_kafka_flush(client.handle, 1000) }
        }
        stopped.set()
        await pollThread.join()
        space.signal()
        topics.withLock { cache in
            for handle in cache.values { rd_kafka_topic_destroy(handle) }
            cache.removeAll()
        }
    }
}

/// Producer callbacks: delivery reports land in the ``PendingDelivery`` slot given as the message opaque.
final class ProducerCallbacks: RDKafkaCallbacks, @unchecked Sendable {
    override func deliveryReport(_ message: UnsafePointer<rd_kafka_message_t>) {
        guard let opaque = message.pointee._private else { return }
        PendingDelivery.complete(
            slot: opaque.assumingMemoryBound(to: PendingDelivery.Slot.self),
            partition: message.pointee.partition,
            offset: message.pointee.offset,
            err: message.pointee.err
        )
    }
}

/// The delivery state of one ``KafkaProducer/send(_:)-(ProducerBatch)`` call.
///
/// Each record's opaque is a pointer to its slot; the slot points back to this object. The
/// sender keeps the object alive until every slot is complete, so callbacks never outlive it.
final class PendingDelivery: @unchecked Sendable {
    struct Slot {
        var owner: Unmanaged<PendingDelivery>
        var partition: Int32
        var offset: Int64
        var err: rd_kafka_resp_err_t
        var error: KafkaError?
    }

    private let slots: UnsafeMutableBufferPointer<Slot>
    /// Records not yet reported, plus one held by the sender until it has stored its continuation.
    private let remaining: Atomic<Int>
    private let failureCount = Atomic<Int>(0)
    private nonisolated(unsafe) var continuation: CheckedContinuation<Void, Never>?

    init(count: Int) {
        slots = .allocate(capacity: count)
        remaining = Atomic(count + 1)
        let owner = Unmanaged.passUnretained(self)
        _ = slots.initialize(
            from: repeatElement(
                Slot(owner: owner, partition: -1, offset: -1001, err: RD_KAFKA_RESP_ERR_NO_ERROR, error: nil),
                count: count
            )
        )
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    func slot(_ index: Int) -> UnsafeMutablePointer<Slot> { slots.baseAddress! + index }

    /// Called on the poll thread for each delivery report.
    static func complete(slot: UnsafeMutablePointer<Slot>, partition: Int32, offset: Int64, err: rd_kafka_resp_err_t) {
        slot.pointee.partition = partition
        slot.pointee.offset = offset
        slot.pointee.err = err
        let owner = slot.pointee.owner.takeUnretainedValue()
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { owner.failureCount.add(1, ordering: .relaxed) }
        owner.countDown()
    }

    /// A record that librdkafka refused to enqueue: it gets no delivery report.
    func failNow(_ index: Int, error: KafkaError) {
        slots[index].error = error
        failureCount.add(1, ordering: .relaxed)
        countDown()
    }

    func failUnsent(from start: Int, error: KafkaError) {
        for index in start..<slots.count { failNow(index, error: error) }
    }

    private func countDown() {
        if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            continuation!.resume()
        }
    }

    /// Suspends until every record has its report.
    func wait() async {
        await withCheckedContinuation { continuation in
            self.continuation = continuation
            countDown()  // The sender's own token: from now on the last report resumes us.
        }
    }

    /// The report of record `index`, made on demand.
    func report(_ index: Int, topic: String) -> DeliveryReport {
        let slot = slots[index]
        var error = slot.error
        if error == nil, slot.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            error = .rd(.delivery, "broker did not acknowledge the record", slot.err)
        }
        return DeliveryReport(
            topic: topic,
            partition: slot.partition,
            offset: error == nil ? KafkaOffset(rawValue: slot.offset) : .invalid,
            error: error
        )
    }

    /// Where record `index` was written, when it was acknowledged.
    func acknowledged(_ index: Int) -> (partition: Int32, offset: Int64)? {
        let slot = slots[index]
        guard slot.error == nil, slot.err == RD_KAFKA_RESP_ERR_NO_ERROR, slot.offset >= 0 else { return nil }
        return (slot.partition, slot.offset)
    }

    /// Records that failed (refused at enqueue or not acknowledged).
    var failures: Int { failureCount.load(ordering: .acquiring) }
}

/// A batch handed to librdkafka, whose acknowledgements are still coming.
public final class Delivery: Sendable {
    private let pending: PendingDelivery
    private let batch: ProducerBatch
    private let awaited = Atomic<Bool>(false)

    init(pending: PendingDelivery, batch: ProducerBatch) {
        self.pending = pending
        self.batch = batch
    }

    /// Waits until the broker has acknowledged or refused every record of the batch.
    ///
    /// - Important: call it once.
    public func reports() async -> DeliveryReports {
        precondition(!awaited.exchange(true, ordering: .acquiringAndReleasing), "Delivery.reports() awaited twice")
        await pending.wait()
        return DeliveryReports(pending: pending, batch: batch)
    }
}

/// One ``DeliveryReport`` per record of a sent ``ProducerBatch``, in the batch's order.
///
/// Reports are made when read, so checking ``allDelivered`` after sending thousands of records
/// costs nothing per record.
public struct DeliveryReports: RandomAccessCollection, Sendable {
    let pending: PendingDelivery
    let batch: ProducerBatch

    public var startIndex: Int { 0 }
    public var endIndex: Int { batch.count }

    public subscript(position: Int) -> DeliveryReport {
        precondition(position >= 0 && position < batch.count, "DeliveryReports index out of range")
        return pending.report(position, topic: batch.topics[Int(batch.entries[position].topicIndex)])
    }

    /// True when the broker acknowledged every record.
    public var allDelivered: Bool { pending.failures == 0 }

    /// The number of records that were not delivered.
    public var failureCount: Int { pending.failures }

    /// The highest offset acknowledged in each partition of `topic` (records that failed are
    /// left out). One pass over the reports without making them.
    public func highestOffsets(topic: String) -> [Int32: Int64] {
        guard let topicIndex = batch.topics.firstIndex(of: topic) else { return [:] }
        var highest: [Int32: Int64] = [:]
        for index in 0..<batch.count where batch.entries[index].topicIndex == topicIndex {
            guard let (partition, offset) = pending.acknowledged(index) else { continue }
            if offset > highest[partition] ?? -1 { highest[partition] = offset }
        }
        return highest
    }

    /// The first failure, if any.
    public var firstError: KafkaError? {
        guard pending.failures > 0 else { return nil }
        return lazy.compactMap(\.error).first
    }
}
