internal import CRDKafka
import Dispatch
import Logging

/// The callbacks librdkafka calls, reached from C through the handle's opaque pointer.
///
/// Lives exactly as long as the ``RDKafkaClient`` that owns it: the client destroys the handle
/// in its `deinit` before its stored properties (this context among them) are released.
class RDKafkaCallbacks: @unchecked Sendable {
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Called by `rd_kafka_poll` on the producer's poll thread for every acknowledged or failed record.
    func deliveryReport(_ message: UnsafePointer<rd_kafka_message_t>) {}

    /// Called on the consumer's poll thread when the group assigns or revokes partitions.
    func rebalance(
        _ handle: OpaquePointer,
        _ err: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {}

    /// librdkafka's client-level errors (all brokers down, fatal idempotence errors, …).
    func error(_ handle: OpaquePointer?, _ err: rd_kafka_resp_err_t, _ reason: String) {
        if err == RD_KAFKA_RESP_ERR__FATAL, let handle {
            var buffer = [CChar](repeating: 0, count: 512)
            let original = rd_kafka_fatal_error(handle, &buffer, buffer.count)
            let detail = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            logger.critical(
                "kafka fatal error",
                metadata: [
                    "kafka.error": "\(String(cString: rd_kafka_err2name(original)))", "kafka.reason": "\(detail)",
                ]
            )
        } else {
            logger.warning(
                "kafka client error",
                metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(err)))", "kafka.reason": "\(reason)"]
            )
        }
    }

    /// librdkafka's own log lines, routed into swift-log. librdkafka may call this from any of its
    /// threads; a swift-log `Logger` is safe to use from any thread.
    func log(level: Int32, facility: String, message: String) {
        let swiftLevel: Logger.Level =
            switch level {
            case 0...2: .critical
            case 3: .error
            case 4: .warning
            case 5: .notice
            case 6: .info
            default: .debug
            }
        logger.log(
            level: swiftLevel,
            "librdkafka",
            metadata: ["kafka.facility": "\(facility)", "kafka.log": "\(message)"]
        )
    }
}

/// Owns exactly one `rd_kafka_t` handle; the only place that creates or destroys it.
///
/// The handle is destroyed when the last reference goes away. Public types close their client
/// explicitly first (flush, leave the group) on a blocking thread, so that the final
/// `rd_kafka_destroy` finds nothing left to wait for. Consumer batches keep a reference while
/// they hold librdkafka messages, which must not outlive the handle.
final class RDKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let callbacks: RDKafkaCallbacks
    private let destroyFlags: Int32

    enum Kind {
        case producer
        case consumer
    }

    init(
        _ kind: Kind,
        configuration: KafkaConfiguration,
        callbacks: RDKafkaCallbacks,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        var conf = try RDKafkaConf(configuration)
        let raw = conf.pointer!
        rd_kafka_conf_set_opaque(raw, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_log_cb(raw) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            let callbacks = Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            callbacks.log(
                level: level,
                facility: facility.map { String(cString: $0) } ?? "",
                message: message.map { String(cString: $0) } ?? ""
            )
        }
        rd_kafka_conf_set_error_cb(raw) { rk, err, reason, opaque in
            guard let opaque else { return }
            let callbacks = Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            callbacks.error(rk, rd_kafka_resp_err_t(err), reason.map { String(cString: $0) } ?? "")
        }
        configure(raw)

        var errbuf = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        // rd_kafka_new takes ownership of the conf only on success.
        guard let rk = rd_kafka_new(type, raw, &errbuf, errbuf.count) else {
            let detail = errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError(.client, reason: "rd_kafka_new failed", rdKafkaText: detail)
        }
        _ = conf.take()
        self.handle = rk
        self.callbacks = callbacks
        // A consumer has left its group in `close()` already; destroy must not try again.
        self.destroyFlags = kind == .consumer ? Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE) : 0
    }

    /// The client's name as librdkafka reports it (`rdkafka#producer-1`).
    var name: String { String(cString: rd_kafka_name(handle)) }

    deinit {
        rd_kafka_destroy_flags(handle, destroyFlags)
    }
}

/// Runs librdkafka's blocking calls (flush, synchronous commit, consumer close, admin waits) on a
/// thread outside Swift's cooperative pool, and resumes the caller when they return.
func runBlocking<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        DispatchQueue.global(qos: .utility).async {
            do throws(E) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}

/// Topic partitions as a C list. The list is destroyed when the closure returns.
func withPartitionList<R>(
    _ partitions: [TopicPartitionOffset],
    _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> R
) rethrows -> R {
    let list = rd_kafka_topic_partition_list_new(Int32(max(1, partitions.count)))!
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for partition in partitions {
        let element = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!
        element.pointee.offset = partition.offset.rawValue
    }
    return try body(list)
}

/// Reads a C partition list into Swift values (the list stays owned by the caller).
func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartitionOffset] {
    let count = Int(list.pointee.cnt)
    guard count > 0, let elements = list.pointee.elems else { return [] }
    return (0..<count).map { index in
        let element = elements[index]
        return TopicPartitionOffset(
            topic: String(cString: element.topic),
            partition: element.partition,
            offset: KafkaOffset(rawValue: element.offset)
        )
    }
}
