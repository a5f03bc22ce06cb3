/// A topic and one of its partitions.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)/\(partition)" }
}

/// An offset in a partition, or one of Kafka's logical offsets.
public struct KafkaOffset: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The raw value as Kafka and librdkafka use it; negative values are logical offsets.
    public var rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ value: Int64) { self.rawValue = value }

    /// The first offset still in the partition (`RD_KAFKA_OFFSET_BEGINNING`).
    public static let beginning = KafkaOffset(rawValue: -2)
    /// The offset after the last record (`RD_KAFKA_OFFSET_END`).
    public static let end = KafkaOffset(rawValue: -1)
    /// The committed offset, or `auto.offset.reset` when there is none (`RD_KAFKA_OFFSET_STORED`).
    public static let stored = KafkaOffset(rawValue: -1000)
    /// No offset (`RD_KAFKA_OFFSET_INVALID`).
    public static let invalid = KafkaOffset(rawValue: -1001)

    /// True for a real position in the log rather than a logical offset.
    public var isConcrete: Bool { rawValue >= 0 }

    public static func < (lhs: KafkaOffset, rhs: KafkaOffset) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .beginning: "beginning"
        case .end: "end"
        case .stored: "stored"
        case .invalid: "invalid"
        default: String(rawValue)
        }
    }
}

/// A topic partition with an offset: a position to seek to, commit, or assign from.
public struct TopicPartitionOffset: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: KafkaOffset

    public init(topic: String, partition: Int32, offset: KafkaOffset) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    public var description: String { "\(topic)/\(partition)@\(offset)" }
}

/// A Kafka record header. Values are bytes; a header may have no value at all.
public struct KafkaHeader: Hashable, Sendable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    public init(name: String, string: String) {
        self.name = name
        self.value = Array(string.utf8)
    }
}

/// Where the broker stored a record, or why it did not.
public struct DeliveryReport: Sendable {
    public var topic: String
    /// The partition it was written to (or chosen for it before it failed).
    public var partition: Int32
    /// Its offset; ``KafkaOffset/invalid`` when delivery failed.
    public var offset: KafkaOffset
    /// nil when the broker acknowledged the record.
    public var error: KafkaError?

    public init(topic: String, partition: Int32, offset: KafkaOffset, error: KafkaError?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.error = error
    }

    /// True when the broker acknowledged the record.
    public var isDelivered: Bool { error == nil }
}

/// How far a consumer group has committed one partition, against its high watermark.
public struct PartitionProgress: Hashable, Sendable, CustomStringConvertible {
    public var topicPartition: TopicPartition
    /// The group's committed offset (0 when it has none).
    public var committed: Int64
    /// The offset after the partition's last record.
    public var high: Int64

    public init(topicPartition: TopicPartition, committed: Int64, high: Int64) {
        self.topicPartition = topicPartition
        self.committed = committed
        self.high = high
    }

    public var description: String { "\(topicPartition.topic)/\(topicPartition.partition): \(committed) of \(high)" }
}

public struct PartitionLag: Hashable, Sendable {
    public var topic: String
    public var partition: Int32
    /// The next offset the consumer will hand out, if known.
    public var position: KafkaOffset
    /// The partition's high watermark (offset after the last record) as last seen by the fetcher.
    public var highWatermark: KafkaOffset
    /// `highWatermark − position`, or nil while either is unknown.
    public var lag: Int64? {
        guard position.isConcrete, highWatermark.isConcrete else { return nil }
        return max(0, highWatermark.rawValue - position.rawValue)
    }
}
