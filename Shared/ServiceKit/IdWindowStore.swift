public import Kafka

/// Ids remembered per input partition with an event time each — a deduplication window — backed
/// by a time-retained changelog topic that gets **one record per partition and flush**, not one
/// per id.
///
/// A ``KeyedStateStore`` writes a changelog record per changed key and a tombstone per deleted
/// one, which suits state that changes in place. A dedup window only ever adds ids and forgets
/// them by age: writing each id as its own record doubled the records a deduplicating service
/// produces (and the broker stores), and every expiry cost a tombstone on top. Here the ids added
/// by one batch in one partition travel together in one record; nothing is written when ids
/// expire, because the topic's retention (longer than the window) drops old records by itself.
///
/// - Restored on partition assignment by reading the retained changelog partition from the
///   beginning; a later record of an id replaces an earlier one. Ids restored from before the
///   window are forgotten by the owner's next expiry sweep
///   (``removeAll(partition:eventTimeAtOrBefore:)``).
/// - Ids are UTF-8 bytes and compare as bytes; each partition's are held in an ``IdTable``
///   (no string per id; about 100 bytes per id of 36 bytes).
/// - Every id remembers the input offset that added it, for the same exactly-once-per-key
///   replay check as ``KeyedStateStore/isApplied(_:partition:offset:)``.
/// - Changelog value (format 1): the byte `1`, then per id: the input offset (Int64 LE), the
///   event time (Int64 LE, ms), the id's UTF-8 length (UInt16 LE) and its bytes. No key.
///   Records with a key are read as the per-id records of a ``KeyedStateStore`` with the
///   ``StateCodec/int64`` codec (a tombstone deletes), so a changelog written by that store
///   restores here too.
///
/// - Important: not thread-safe; used only from its ``ProcessingLoop``'s task.
public final class IdWindowStore: StateStore, @unchecked Sendable {
    /// The store's name (the `<store>` of its changelog topic).
    public let name: String
    /// The changelog topic's full name.
    public let changelogTopic: String
    /// A changelog record is closed once it holds this many bytes and the next one started
    /// (well under a broker's default 1 MB message limit).
    public var maxRecordBytes = 256 * 1024

    private var tables: [Int32: IdTable] = [:]
    /// Changelog records not yet written, per partition: closed ones, then the one being filled.
    private var pending: [Int32: Pending] = [:]

    /// A partition's changelog records not yet written (a class, so that the one last used is
    /// filled in place without a dictionary access per id).
    private final class Pending {
        var records: [[UInt8]] = []
    }

    static let formatVersion: UInt8 = 1

    public init(name: String, changelogTopic: String) {
        self.name = name
        self.changelogTopic = changelogTopic
    }

    /// The table and pending records last used: records come in runs of one partition.
    private var recent: (partition: Int32, table: IdTable, pending: Pending)?

    private func table(_ partition: Int32) -> IdTable { current(partition).table }

    private func current(_ partition: Int32) -> (partition: Int32, table: IdTable, pending: Pending) {
        if let recent, recent.partition == partition { return recent }
        let found = (
            partition, Self.held(partition, in: &tables, IdTable.init), Self.held(partition, in: &pending, Pending.init)
        )
        recent = found
        return found
    }

    /// The object held for `partition`, made and held first when there is none.
    private static func held<Object: AnyObject>(
        _ partition: Int32,
        in objects: inout [Int32: Object],
        _ make: () -> Object
    ) -> Object {
        if let held = objects[partition] { return held }
        let made = make()
        objects[partition] = made
        return made
    }

    /// The event time of `id` (UTF-8 bytes; ids compare as bytes) in `partition` and the input
    /// offset that added it.
    public func lookup(_ id: UnsafeRawBufferPointer, partition: Int32) -> (eventTime: Int64, offset: Int64)? {
        guard let entry = tables[partition]?.get(id) else { return nil }
        return (entry.eventTime, entry.offset)
    }

    /// Remembers `id` in `partition` with its event time, as added by the input record at `offset`
    /// (replacing what was remembered of it), and queues it for the changelog.
    public func put(_ id: UnsafeRawBufferPointer, _ eventTime: Int64, partition: Int32, offset: Int64) {
        table(partition).set(id, IdTable.Entry(eventTime: eventTime, offset: offset))
        queue(id, eventTime, partition: partition, offset: offset)
    }

    /// Remembers `id` in `partition` as ``put(_:_:partition:offset:)-(UnsafeRawBufferPointer,_,_,_)``
    /// does, unless it is remembered already: then nothing changes and what is remembered of it
    /// is returned. One probe of the table either way (a lookup then a put take two).
    ///
    /// - Returns: nil when `id` was added; else its remembered event time and offset.
    public func putIfAbsent(
        _ id: UnsafeRawBufferPointer,
        _ eventTime: Int64,
        partition: Int32,
        offset: Int64
    ) -> (eventTime: Int64, offset: Int64)? {
        let entry = IdTable.Entry(eventTime: eventTime, offset: offset)
        if let existing = table(partition).insertIfAbsent(id, entry) { return (existing.eventTime, existing.offset) }
        queue(id, eventTime, partition: partition, offset: offset)
        return nil
    }

    /// Forgets `id` in `partition`. Nothing is written: the changelog's retention drops it.
    public func remove(_ id: UnsafeRawBufferPointer, partition: Int32) {
        tables[partition]?.remove(id)
    }

    /// Forgets every id of `partition` whose event time is at or before `cutoff` (one pass over
    /// the partition's table, which then shrinks if mostly empty); returns how many. Nothing is
    /// written.
    @discardableResult
    public func removeAll(partition: Int32, eventTimeAtOrBefore cutoff: Int64) -> Int {
        tables[partition]?.removeAll { $0.eventTime <= cutoff } ?? 0
    }

    /// Every id and event time of a partition.
    public func entries(partition: Int32) -> [(id: String, eventTime: Int64)] {
        var entries: [(id: String, eventTime: Int64)] = []
        tables[partition]?.forEach { id, entry in entries.append((String(decoding: id, as: UTF8.self), entry.eventTime))
        }
        return entries
    }

    /// Number of ids held in a partition.
    public func count(partition: Int32) -> Int { tables[partition]?.count ?? 0 }

    /// The bytes the partitions' tables hold (slots and ids), for memory figures.
    public var tableBytes: Int { tables.values.reduce(0) { $0 + $1.bytes } }

    /// Partitions whose ids are held here.
    public var partitions: [Int32] { tables.keys.sorted() }

    // MARK: Ids as strings (tools and tests)

    /// ``lookup(_:partition:)-(UnsafeRawBufferPointer,_)`` for an id given as a string.
    public func lookup(_ id: String, partition: Int32) -> (eventTime: Int64, offset: Int64)? {
        var id = id
        return id.withUTF8 { lookup(UnsafeRawBufferPointer($0), partition: partition) }
    }

    /// The event time of `id` in `partition`.
    public func get(_ id: String, partition: Int32) -> Int64? {
        lookup(id, partition: partition)?.eventTime
    }

    /// ``put(_:_:partition:offset:)-(UnsafeRawBufferPointer,_,_,_)`` for an id given as a string.
    public func put(_ id: String, _ eventTime: Int64, partition: Int32, offset: Int64) {
        var id = id
        id.withUTF8 { put(UnsafeRawBufferPointer($0), eventTime, partition: partition, offset: offset) }
    }

    /// ``putIfAbsent(_:_:partition:offset:)-(UnsafeRawBufferPointer,_,_,_)`` for an id given as a string.
    public func putIfAbsent(
        _ id: String,
        _ eventTime: Int64,
        partition: Int32,
        offset: Int64
    ) -> (eventTime: Int64, offset: Int64)? {
        var id = id
        return id.withUTF8 { putIfAbsent(UnsafeRawBufferPointer($0), eventTime, partition: partition, offset: offset) }
    }

    /// ``remove(_:partition:)-(UnsafeRawBufferPointer,_)`` for an id given as a string.
    public func remove(_ id: String, partition: Int32) {
        var id = id
        id.withUTF8 { remove(UnsafeRawBufferPointer($0), partition: partition) }
    }

    /// Queues an added id for the changelog. In place: a copy of the partition's records taken
    /// out and put back would copy the record being filled on every id.
    private func queue(_ id: UnsafeRawBufferPointer, _ eventTime: Int64, partition: Int32, offset: Int64) {
        Self.append(
            id: id,
            eventTime: eventTime,
            offset: offset,
            to: &current(partition).pending.records,
            limit: maxRecordBytes
        )
    }

    /// Appends one id to the last of `records`, or to a new record when that one is full.
    private static func append(
        id: UnsafeRawBufferPointer,
        eventTime: Int64,
        offset: Int64,
        to records: inout [[UInt8]],
        limit: Int
    ) {
        if records.isEmpty || records[records.count - 1].count >= limit {
            var record: [UInt8] = []
            record.reserveCapacity(min(limit + 256, 16 * 1024))
            record.append(formatVersion)
            records.append(record)
        }
        let last = records.count - 1
        let count = UInt16(clamping: id.count)
        // Offset, event time and length in one append (a tuple of them is laid out in order: 18 bytes).
        let header = (offset.littleEndian, eventTime.littleEndian, count.littleEndian)
        withUnsafeBytes(of: header) { records[last].append(contentsOf: $0) }
        records[last].append(contentsOf: UnsafeRawBufferPointer(rebasing: id[..<Int(count)]))
    }

    // MARK: StateStore

    public var hasChanges: Bool { pending.values.contains { !$0.records.isEmpty } }

    public func appendChanges(to batch: inout ProducerBatch) throws {
        for (partition, records) in pending {
            for record in records.records {
                record.withUnsafeBytes { value in
                    batch.append(topic: changelogTopic, partition: partition, key: nil, value: value)
                }
            }
        }
    }

    public func changesFlushed() {
        for records in pending.values { records.records.removeAll(keepingCapacity: true) }
    }

    public func apply(changelogRecord record: ConsumerRecordView) throws {
        let partition = record.partition
        let applied = try record.withUnsafeKey { key in
            try record.withUnsafeValue { value in
                if let key { return applyPerKey(key: key, value: value, partition: partition) }
                guard let value else { return false }
                return try applyBatch(value, partition: partition)
            }
        }
        if !applied { throw IdWindowStoreError(store: name, partition: partition, offset: record.offset) }
    }

    /// A record of a ``KeyedStateStore`` with the int64 codec: key = id, value = offset + event time.
    private func applyPerKey(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?, partition: Int32) -> Bool {
        guard let value else {
            tables[partition]?.remove(key)
            return true
        }
        guard value.count == 16 else { return false }
        let offset = Int64(littleEndian: value.loadUnaligned(fromByteOffset: 0, as: Int64.self))
        let eventTime = Int64(littleEndian: value.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        table(partition).set(key, IdTable.Entry(eventTime: eventTime, offset: offset))
        return true
    }

    /// A format-1 record: every id in it, or nothing when any part of it cannot be read.
    private func applyBatch(_ value: UnsafeRawBufferPointer, partition: Int32) throws -> Bool {
        guard value.first == Self.formatVersion else { return false }
        // Read it through once before applying anything.
        var position = 1
        while position < value.count {
            guard value.count - position >= 18 else { return false }
            let length = Int(UInt16(littleEndian: value.loadUnaligned(fromByteOffset: position + 16, as: UInt16.self)))
            position += 18
            guard value.count - position >= length,
                Self.isUTF8(UnsafeRawBufferPointer(rebasing: value[position..<position + length]))
            else { return false }
            position += length
        }
        let table = table(partition)
        position = 1
        while position < value.count {
            let offset = Int64(littleEndian: value.loadUnaligned(fromByteOffset: position, as: Int64.self))
            let eventTime = Int64(littleEndian: value.loadUnaligned(fromByteOffset: position + 8, as: Int64.self))
            let length = Int(UInt16(littleEndian: value.loadUnaligned(fromByteOffset: position + 16, as: UInt16.self)))
            position += 18
            table.set(
                UnsafeRawBufferPointer(rebasing: value[position..<position + length]),
                IdTable.Entry(eventTime: eventTime, offset: offset)
            )
            position += length
        }
        return true
    }

    /// Ids are UTF-8 (JSON strings): other bytes mean a damaged record.
    private static func isUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    public func prepare(partition: Int32) {
        recent = nil
        tables[partition] = IdTable()
        pending[partition] = nil
    }

    public func drop(partition: Int32) {
        recent = nil
        tables[partition] = nil
        pending[partition] = nil
    }
}

/// A changelog record an ``IdWindowStore`` cannot read.
public struct IdWindowStoreError: Error, CustomStringConvertible {
    public var store: String
    public var partition: Int32
    public var offset: Int64
    public var description: String {
        "store \(store): the changelog record at partition \(partition), offset \(offset) cannot be read"
    }
}
