/// One record to send.
public struct ProducerRecord: Sendable {
    public var topic: String
    /// The partition, or nil to let the partitioner choose from the key.
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch; nil lets librdkafka stamp the send time.
    public var timestamp: Int64?

    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// A record with UTF-8 text key and value.
    public init(topic: String, partition: Int32? = nil, key: String?, value: String?, headers: [KafkaHeader] = []) {
        self.init(
            topic: topic,
            partition: partition,
            key: key.map { Array($0.utf8) },
            value: value.map { Array($0.utf8) },
            headers: headers
        )
    }
}

/// Many records to send together, their bytes packed in one buffer.
///
/// Appending copies a record's key and value into the batch's single buffer, so building a batch
/// of thousands of records costs a handful of allocations rather than two per record, and the
/// caller's buffers (for instance the payloads of a ``ConsumerBatch``) can be released or reused
/// right after `append`. ``KafkaProducer/send(_:)-(ProducerBatch)`` hands the batch to librdkafka
/// and returns one ``DeliveryReport`` per record, in append order.
public struct ProducerBatch: Sendable {
    struct Entry: Sendable {
        var topicIndex: Int32
        var partition: Int32
        var keyStart: Int
        /// -1 for no key (a null key, distinct from an empty one).
        var keyCount: Int
        var valueStart: Int
        /// -1 for no value (a tombstone).
        var valueCount: Int
        var timestamp: Int64
        var headers: [KafkaHeader]?
    }

    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []
    private(set) var topics: [String] = []

    public init(reservingCapacity records: Int = 0, bytes: Int = 0) {
        entries.reserveCapacity(records)
        self.bytes.reserveCapacity(bytes)
    }

    /// The number of records in the batch.
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Removes every record and keeps the storage for reuse.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    /// Appends a record whose key and value are read from raw buffers; both are copied.
    ///
    /// - Parameters:
    ///   - topic: the destination topic.
    ///   - partition: a fixed partition, or nil to let the partitioner choose from the key.
    ///   - key: the key bytes; nil for no key.
    ///   - value: the value bytes; nil for a tombstone.
    ///   - headers: record headers.
    ///   - timestamp: milliseconds since the epoch; nil lets librdkafka stamp the send time.
    public mutating func append(
        topic: String,
        partition: Int32? = nil,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) {
        let topicIndex = index(of: topic)
        let keyStart = bytes.count
        if let key { bytes.append(contentsOf: key.assumingMemoryBound(to: UInt8.self)) }
        let valueStart = bytes.count
        if let value { bytes.append(contentsOf: value.assumingMemoryBound(to: UInt8.self)) }
        entries.append(
            Entry(
                topicIndex: topicIndex,
                partition: partition ?? -1,
                keyStart: keyStart,
                keyCount: key?.count ?? -1,
                valueStart: valueStart,
                valueCount: value?.count ?? -1,
                timestamp: timestamp ?? 0,
                headers: headers.isEmpty ? nil : headers
            )
        )
    }

    /// Appends a record whose key and value are byte arrays.
    public mutating func append(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) {
        withOptionalBytes(key) { key in
            withOptionalBytes(value) { value in
                append(
                    topic: topic,
                    partition: partition,
                    key: key,
                    value: value,
                    headers: headers,
                    timestamp: timestamp
                )
            }
        }
    }

    /// Appends a ``ProducerRecord``.
    public mutating func append(_ record: ProducerRecord) {
        append(
            topic: record.topic,
            partition: record.partition,
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestamp: record.timestamp
        )
    }

    /// A copy of record `index`, e.g. to send it again.
    public func record(at index: Int) -> ProducerRecord {
        let entry = entries[index]
        return ProducerRecord(
            topic: topics[Int(entry.topicIndex)],
            partition: entry.partition >= 0 ? entry.partition : nil,
            key: entry.keyCount >= 0 ? Array(bytes[entry.keyStart..<(entry.keyStart + entry.keyCount)]) : nil,
            value: entry.valueCount >= 0 ? Array(bytes[entry.valueStart..<(entry.valueStart + entry.valueCount)]) : nil,
            headers: entry.headers ?? [],
            timestamp: entry.timestamp != 0 ? entry.timestamp : nil
        )
    }

    /// The partition record `index` was given (nil: the partitioner chooses).
    public func partition(at index: Int) -> Int32? {
        entries[index].partition >= 0 ? entries[index].partition : nil
    }

    /// Replaces the headers of record `index` (before the batch is sent).
    public mutating func setHeaders(_ headers: [KafkaHeader], at index: Int) {
        entries[index].headers = headers.isEmpty ? nil : headers
    }

    private mutating func index(of topic: String) -> Int32 {
        // Batches usually hold one or two topics: a backwards scan beats hashing.
        if let found = topics.lastIndex(of: topic) { return Int32(found) }
        topics.append(topic)
        return Int32(topics.count - 1)
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
