internal import CRDKafka

/// Records fetched together, read in place from librdkafka's buffers.
///
/// The batch owns the librdkafka messages it hands out; their keys and values are read without
/// copying through ``ConsumerRecordView``. It keeps its client alive while it lives and
/// releases the messages when it is deinitialized.
///
/// - Important: a ``ConsumerRecordView`` points into the batch: use it only while the batch is alive.
public final class ConsumerBatch: RandomAccessCollection, @unchecked Sendable {
    private let messages: UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    public let count: Int
    private let client: RDKafkaClient

    /// Takes ownership of `count` messages at the start of `messages`; the buffer is the batch's now.
    init(
        messages: UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?>,
        count: Int,
        client: RDKafkaClient
    ) {
        self.messages = messages
        self.count = count
        self.client = client
    }

    deinit {
        for index in 0..<count { rd_kafka_message_destroy(messages[index]) }
        messages.deallocate()
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> ConsumerRecordView {
        precondition(position >= 0 && position < count, "ConsumerBatch index out of range")
        return ConsumerRecordView(message: messages[position]!)
    }

    /// The offsets to commit after processing the whole batch: for each partition, the last
    /// offset in the batch plus one (Kafka commits the next offset to read).
    public var nextOffsets: [TopicPartitionOffset] {
        // Keyed by topic handle and partition: no topic-name string per record.
        // Records come in runs of one partition: the dictionary is touched once per run.
        var latest: [PartitionKey: Int64] = [:]
        var run: PartitionKey?
        var runLatest: Int64 = -1
        for index in 0..<count {
            let message = messages[index]!.pointee
            let key = PartitionKey(topic: UnsafeRawPointer(message.rkt), partition: message.partition)
            if key != run {
                if let run { latest[run] = Swift.max(latest[run] ?? -1, runLatest) }
                run = key
                runLatest = -1
            }
            runLatest = Swift.max(runLatest, message.offset)
        }
        if let run { latest[run] = Swift.max(latest[run] ?? -1, runLatest) }
        return latest.map { key, offset in
            TopicPartitionOffset(
                topic: String(cString: rd_kafka_topic_name(OpaquePointer(key.topic))),
                partition: key.partition,
                offset: KafkaOffset(offset + 1)
            )
        }
        .sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    private struct PartitionKey: Hashable {
        var topic: UnsafeRawPointer?
        var partition: Int32
    }
}

/// One consumed record, read in place.
///
/// - Important: valid only while the ``ConsumerBatch`` it came from is alive; use ``record`` for
///   an owned copy.
public struct ConsumerRecordView: @unchecked Sendable {
    let message: UnsafeMutablePointer<rd_kafka_message_t>

    public var topic: String { String(cString: rd_kafka_topic_name(message.pointee.rkt)) }
    /// Identifies the record's topic without making a string: equal for records of the same topic
    /// from the same consumer, for as long as the consumer lives.
    public var topicID: Int { Int(bitPattern: UnsafeRawPointer(message.pointee.rkt)) }
    public var partition: Int32 { message.pointee.partition }
    public var offset: Int64 { message.pointee.offset }

    /// The record's timestamp in milliseconds since the epoch, when the broker or producer set one.
    public var timestamp: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let value = rd_kafka_message_timestamp(message, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : value
    }

    /// Calls `body` with the key's bytes in place (nil for a record without a key).
    public func withUnsafeKey<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let key = message.pointee.key else { return try body(nil) }
        return try body(UnsafeRawBufferPointer(start: key, count: message.pointee.key_len))
    }

    /// Calls `body` with the value's bytes in place (nil for a tombstone).
    public func withUnsafeValue<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let payload = message.pointee.payload else { return try body(nil) }
        return try body(UnsafeRawBufferPointer(start: payload, count: message.pointee.len))
    }

    /// The value's length in bytes (0 for a tombstone).
    public var valueCount: Int { message.pointee.payload == nil ? 0 : message.pointee.len }

    /// A copy of the key.
    public var key: [UInt8]? { withUnsafeKey { $0.map { Array($0) } } }
    /// A copy of the value; nil for a tombstone.
    public var value: [UInt8]? { withUnsafeValue { $0.map { Array($0) } } }

    /// Calls `body` with the value of the record's last header named `name`, in place (nil when
    /// there is no such header or it has no value): no copy of the headers.
    public func withUnsafeHeader<R>(named name: String, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        var list: OpaquePointer?
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list,
            rd_kafka_header_get_last(list, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let value
        else { return try body(nil) }
        return try body(UnsafeRawBufferPointer(start: value, count: size))
    }

    /// The record's headers, copied.
    public var headers: [KafkaHeader] {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            result.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: bytes))
            index += 1
        }
        return result
    }

    /// An owned copy of the record, usable after the batch is gone.
    public var record: KafkaRecord {
        KafkaRecord(
            topic: topic,
            partition: partition,
            offset: offset,
            timestamp: timestamp,
            key: key,
            value: value,
            headers: headers
        )
    }
}

/// A consumed record, owned.
public struct KafkaRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestamp: Int64?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        timestamp: Int64? = nil,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// The key as UTF-8 text, if it is valid UTF-8.
    public var keyString: String? { key.flatMap { String(validating: $0, as: UTF8.self) } }
    /// The value as UTF-8 text, if it is valid UTF-8.
    public var valueString: String? { value.flatMap { String(validating: $0, as: UTF8.self) } }
}
