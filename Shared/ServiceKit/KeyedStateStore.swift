import Foundation
public import Kafka

/// State a service keeps per input partition: a keyed table backed by a compacted changelog
/// topic `cs.<service>.<store>` with the same partition count as the input.
///
/// - Restored on partition assignment, before any record of that partition is processed, by
///   reading the changelog partition from the beginning (last value per key wins; a tombstone
///   deletes). Dropped on revocation.
/// - Changes are coalesced per key between commits (as Kafka Streams' record cache does): the
///   changelog grows with changed keys, not with events. ``ProcessingLoop`` writes them and
///   waits for the broker's acknowledgement before it commits the input offsets.
/// - Every entry remembers the input offset that last changed it. A record reprocessed after a
///   crash (its offset was not committed) finds ``isApplied(_:partition:offset:)`` true for
///   every key whose change already reached the changelog and must not apply it again — that
///   makes the effect on state exactly once per key without Kafka transactions.
///
/// - Important: not thread-safe; used only from its ``ProcessingLoop``'s task.
public final class KeyedStateStore<Value: Codable & Sendable>: StateStore, @unchecked Sendable {
    struct Entry {
        var value: Value
        var offset: Int64
    }

    /// The store's name (the `<store>` of its changelog topic).
    public let name: String
    /// The changelog topic's full name.
    public let changelogTopic: String
    private var tables: [Int32: [String: Entry]] = [:]
    /// Keys changed since the last flush, per partition (nil value: deleted).
    private var dirty: [Int32: [String: Entry?]] = [:]
    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()
    private let codec: StateCodec<Value>?
    private var buffer: [UInt8] = []

    /// - Parameter codec: a compact binary changelog encoding of the values; nil: JSON
    ///   (`{"o": offset, "v": value}`).
    public init(name: String, changelogTopic: String, codec: StateCodec<Value>? = nil) {
        self.name = name
        self.changelogTopic = changelogTopic
        self.codec = codec
    }

    /// The value of `key` in `partition`.
    public func get(_ key: String, partition: Int32) -> Value? {
        tables[partition]?[key]?.value
    }

    /// The value of `key` in `partition` and the input offset that last changed it, in one lookup
    /// (``get(_:partition:)`` and ``isApplied(_:partition:offset:)`` together).
    public func lookup(_ key: String, partition: Int32) -> (value: Value, offset: Int64)? {
        guard let entry = tables[partition]?[key] else { return nil }
        return (entry.value, entry.offset)
    }

    /// The input offset that last changed `key` in `partition` (to re-put a value changed by a
    /// timer, not by an input record, without losing what it says about replays).
    public func offset(of key: String, partition: Int32) -> Int64? {
        tables[partition]?[key]?.offset
    }

    /// True when the change made by the input record at `offset` is already in the state
    /// (the record is being reprocessed after a crash or a rebalance).
    public func isApplied(_ key: String, partition: Int32, offset: Int64) -> Bool {
        guard let entry = tables[partition]?[key] else { return false }
        return entry.offset >= offset
    }

    /// Sets `key` in `partition`, as changed by the input record at `offset`.
    public func put(_ key: String, _ value: Value, partition: Int32, offset: Int64) {
        let entry = Entry(value: value, offset: offset)
        tables[partition, default: [:]][key] = entry
        dirty[partition, default: [:]][key] = .some(entry)
    }

    /// Removes `key` from `partition` (a tombstone in the changelog).
    public func delete(_ key: String, partition: Int32) {
        guard tables[partition]?.removeValue(forKey: key) != nil else { return }
        dirty[partition, default: [:]][key] = .some(nil)
    }

    /// Every key and value of a partition (for timers and scans).
    public func entries(partition: Int32) -> [(key: String, value: Value)] {
        (tables[partition] ?? [:]).map { ($0.key, $0.value.value) }
    }

    /// Number of keys held in a partition.
    public func count(partition: Int32) -> Int { tables[partition]?.count ?? 0 }

    /// Partitions whose state is held here.
    public var partitions: [Int32] { tables.keys.sorted() }

    // MARK: StateStore

    public var hasChanges: Bool { dirty.values.contains { !$0.isEmpty } }

    public func appendChanges(to batch: inout ProducerBatch) throws {
        for (partition, changes) in dirty {
            for (key, entry) in changes {
                buffer.removeAll(keepingCapacity: true)
                if let codec, let entry {
                    withUnsafeBytes(of: entry.offset.littleEndian) { buffer.append(contentsOf: $0) }
                    codec.encode(entry.value, &buffer)
                } else if let entry {
                    buffer.append(contentsOf: try encoder.encode(Envelope(o: entry.offset, v: entry.value)))
                }
                var key = key
                key.withUTF8 { key in
                    buffer.withUnsafeBytes { value in
                        batch.append(
                            topic: changelogTopic,
                            partition: partition,
                            key: UnsafeRawBufferPointer(key),
                            value: entry == nil ? nil : value
                        )
                    }
                }
            }
        }
    }

    public func changesFlushed() {
        // Keep each partition's table of changes and its capacity: the next batch refills it.
        for partition in dirty.keys { dirty[partition]?.removeAll(keepingCapacity: true) }
    }

    public func apply(changelogRecord record: ConsumerRecordView) throws {
        guard let key = record.withUnsafeKey({ $0.map { String(decoding: $0, as: UTF8.self) } }) else { return }
        let partition = record.partition
        guard let bytes = record.value else {
            tables[partition]?.removeValue(forKey: key)
            return
        }
        if let codec {
            guard bytes.count >= 8,
                let value = bytes.withUnsafeBytes({ codec.decode(UnsafeRawBufferPointer(rebasing: $0[8...])) })
            else {
                throw StateCodecError(store: name, key: key)
            }
            let offset = bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
            tables[partition, default: [:]][key] = Entry(value: value, offset: offset)
            return
        }
        let envelope = try decoder.decode(Envelope.self, from: Data(bytes))
        tables[partition, default: [:]][key] = Entry(value: envelope.v, offset: envelope.o)
    }

    public func prepare(partition: Int32) {
        tables[partition] = [:]
        dirty[partition] = nil
    }

    public func drop(partition: Int32) {
        tables[partition] = nil
        dirty[partition] = nil
    }

    /// The changelog value: the state and the input offset that produced it.
    private struct Envelope: Codable {
        var o: Int64
        var v: Value
    }
}

/// A compact binary changelog encoding for a ``KeyedStateStore``'s values: JSON costs
/// microseconds per changed key, and the changelog is written for every changed key.
///
/// On the changelog a value is the 8-byte little-endian input offset followed by `encode`'s bytes.
public struct StateCodec<Value>: Sendable {
    /// Appends the value's bytes.
    public var encode: @Sendable (Value, inout [UInt8]) -> Void
    /// The value of the bytes `encode` wrote, nil for bytes it cannot read.
    public var decode: @Sendable (UnsafeRawBufferPointer) -> Value?

    public init(
        encode: @escaping @Sendable (Value, inout [UInt8]) -> Void,
        decode: @escaping @Sendable (UnsafeRawBufferPointer) -> Value?
    ) {
        self.encode = encode
        self.decode = decode
    }
}

extension StateCodec where Value == Int64 {
    /// An `Int64` as 8 little-endian bytes.
    public static var int64: StateCodec<Int64> {
        StateCodec(
            encode: { value, bytes in withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } },
            decode: { bytes in bytes.count == 8 ? Int64(littleEndian: bytes.loadUnaligned(as: Int64.self)) : nil }
        )
    }
}

/// A changelog record a ``StateCodec`` cannot read.
public struct StateCodecError: Error, CustomStringConvertible {
    public var store: String
    public var key: String
    public var description: String { "store \(store): the changelog value of a key cannot be read" }
}

/// What ``ProcessingLoop`` needs of a state store.
public protocol StateStore: AnyObject, Sendable {
    /// The changelog topic the store is restored from and flushed to.
    var changelogTopic: String { get }
    /// True when there are changes not yet written to the changelog.
    var hasChanges: Bool { get }
    /// Appends the pending changes (one record per changed key, to the same partition number).
    func appendChanges(to batch: inout ProducerBatch) throws
    /// The appended changes are acknowledged by the broker.
    func changesFlushed()
    /// Starts restoring a partition: forget anything held for it.
    func prepare(partition: Int32)
    /// Applies one changelog record during a restore.
    func apply(changelogRecord: ConsumerRecordView) throws
    /// The partition is no longer ours.
    func drop(partition: Int32)
}
