import Foundation

/// A hash table from ids (byte strings) to an event time and an input offset: the memory of one
/// partition of an ``IdWindowStore``.
///
/// Why not `[String: Entry]`: a deduplicating service looks up and adds an id per record, and a
/// window holds a day of them. A Swift dictionary of strings allocates a string per id, compares
/// keys with Unicode rules on every probe (following a pointer per probed key) and hashes with
/// them; this table keeps each slot's 64-bit hash beside its entry, so a probe compares eight
/// bytes inline and the id bytes only when the hashes agree, and stores the ids end to end in one
/// byte arena. Ids compare as bytes.
///
/// Open addressing with linear probing over a power-of-two number of 32-byte slots, at most
/// three quarters in use (ids and tombstones); a rehash (to twice the ids, at least 16 slots)
/// drops tombstones and the arena bytes of removed ids. Hashes are Swift's `Hasher` (SipHash with
/// a per-process random seed), so ids chosen to collide cannot degrade the table.
///
/// - Important: not thread-safe; used from one task.
final class IdTable {
    struct Entry: Equatable {
        var eventTime: Int64
        var offset: Int64
    }

    /// `hash` 0 is an empty slot, 1 a removed one (a tombstone); real hashes are ≥ 2.
    private struct Slot {
        var hash: UInt64
        var entry: Entry
        /// Where the id is in the arena: start in the low 40 bits, length in the high 24.
        var location: UInt64

        var start: Int { Int(location & 0xFF_FFFF_FFFF) }
        var length: Int { Int(location >> 40) }
    }

    private static let empty: UInt64 = 0
    private static let removed: UInt64 = 1

    private var slots: UnsafeMutablePointer<Slot>
    private var capacity: Int
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity: Int
    private var arenaCount = 0
    /// Ids held.
    private(set) var count = 0
    private var tombstones = 0

    /// The longest id held: longer ones are cut to it (the changelog's limit, 65,535 bytes).
    static let maxIdBytes = Int(UInt16.max)

    init() {
        capacity = 16
        slots = Self.allocateSlots(capacity)
        arenaCapacity = 256
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        slots.deallocate()
        arena.deallocate()
    }

    /// The bytes the table holds (slots and arena), for memory figures.
    var bytes: Int { capacity * MemoryLayout<Slot>.stride + arenaCapacity }

    /// The entry of `id`.
    func get(_ id: UnsafeRawBufferPointer) -> Entry? {
        let id = Self.cut(id)
        let (index, found) = find(id, hash: Self.hash(id))
        return found ? slots[index].entry : nil
    }

    /// Adds `id` with `entry` unless it is held: then nothing changes and its entry is returned.
    func insertIfAbsent(_ id: UnsafeRawBufferPointer, _ entry: Entry) -> Entry? {
        let id = Self.cut(id)
        let hash = Self.hash(id)
        reserveOneMore()
        let (index, found) = find(id, hash: hash)
        if found { return slots[index].entry }
        place(id, hash: hash, entry: entry, at: index)
        return nil
    }

    /// Sets the entry of `id`, adding it when it is not held.
    func set(_ id: UnsafeRawBufferPointer, _ entry: Entry) {
        let id = Self.cut(id)
        let hash = Self.hash(id)
        reserveOneMore()
        let (index, found) = find(id, hash: hash)
        if found {
            slots[index].entry = entry
        } else {
            place(id, hash: hash, entry: entry, at: index)
        }
    }

    /// Removes `id`; returns whether it was held.
    @discardableResult
    func remove(_ id: UnsafeRawBufferPointer) -> Bool {
        let id = Self.cut(id)
        let (index, found) = find(id, hash: Self.hash(id))
        guard found else { return false }
        slots[index].hash = Self.removed
        count -= 1
        tombstones += 1
        return true
    }

    /// Removes every id whose entry matches, in one pass over the slots; then shrinks the table
    /// when it is mostly empty. Returns how many were removed.
    @discardableResult
    func removeAll(where matches: (Entry) -> Bool) -> Int {
        var removed = 0
        for index in 0..<capacity where slots[index].hash > Self.removed && matches(slots[index].entry) {
            slots[index].hash = Self.removed
            removed += 1
        }
        count -= removed
        tombstones += removed
        if capacity > 16 && count * 8 < capacity { rehash(to: Self.capacity(for: count)) }
        return removed
    }

    /// Calls `body` with every id and its entry (in no particular order).
    func forEach(_ body: (UnsafeRawBufferPointer, Entry) -> Void) {
        for index in 0..<capacity where slots[index].hash > Self.removed {
            let slot = slots[index]
            body(UnsafeRawBufferPointer(start: arena + slot.start, count: slot.length), slot.entry)
        }
    }

    // MARK: Probing

    /// The slot holding `id`, or else the slot it would go to (the first tombstone on its probe
    /// sequence, else the empty slot that ends it).
    private func find(_ id: UnsafeRawBufferPointer, hash: UInt64) -> (index: Int, found: Bool) {
        let mask = capacity - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        var firstRemoved = -1
        while true {
            let slotHash = slots[index].hash
            if slotHash == Self.empty { return (firstRemoved >= 0 ? firstRemoved : index, false) }
            if slotHash == Self.removed {
                if firstRemoved < 0 { firstRemoved = index }
            } else if slotHash == hash, holds(slots[index], id) {
                return (index, true)
            }
            index = (index + 1) & mask
        }
    }

    private func holds(_ slot: Slot, _ id: UnsafeRawBufferPointer) -> Bool {
        guard slot.length == id.count else { return false }
        guard let base = id.baseAddress else { return true }
        return memcmp(arena + slot.start, base, id.count) == 0
    }

    private func place(_ id: UnsafeRawBufferPointer, hash: UInt64, entry: Entry, at index: Int) {
        if slots[index].hash == Self.removed { tombstones -= 1 }
        let start = append(id)
        slots[index] = Slot(hash: hash, entry: entry, location: UInt64(start) | UInt64(id.count) << 40)
        count += 1
    }

    /// Copies an id to the end of the arena; returns where it starts.
    private func append(_ id: UnsafeRawBufferPointer) -> Int {
        if arenaCount + id.count > arenaCapacity {
            growArena(to: max(2 * arenaCapacity, arenaCount + id.count))
        }
        let start = arenaCount
        if let base = id.baseAddress {
            (arena + start).update(from: base.assumingMemoryBound(to: UInt8.self), count: id.count)
        }
        arenaCount += id.count
        return start
    }

    private func growArena(to newCapacity: Int) {
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.update(from: arena, count: arenaCount)
        arena.deallocate()
        arena = grown
        arenaCapacity = newCapacity
    }

    /// Makes room for one more id: a rehash when ids and tombstones would pass three quarters.
    private func reserveOneMore() {
        guard (count + tombstones + 1) * 4 > capacity * 3 else { return }
        rehash(to: Self.capacity(for: count + 1))
    }

    /// Slots for `count` ids at most half full (at least 16).
    private static func capacity(for count: Int) -> Int {
        var capacity = 16
        while capacity < 2 * count { capacity *= 2 }
        return capacity
    }

    /// Moves every id into `newCapacity` slots and a compacted arena (no rehashing of bytes: each
    /// slot keeps its hash).
    private func rehash(to newCapacity: Int) {
        let oldSlots = slots
        let oldCapacity = capacity
        let oldArena = arena
        var liveBytes = 0
        for index in 0..<oldCapacity where oldSlots[index].hash > Self.removed { liveBytes += oldSlots[index].length }
        slots = Self.allocateSlots(newCapacity)
        capacity = newCapacity
        arenaCapacity = max(256, liveBytes + liveBytes / 2)
        arena = .allocate(capacity: arenaCapacity)
        arenaCount = 0
        tombstones = 0
        let mask = newCapacity - 1
        for old in 0..<oldCapacity where oldSlots[old].hash > Self.removed {
            var slot = oldSlots[old]
            let start = arenaCount
            (arena + start).update(from: oldArena + slot.start, count: slot.length)
            arenaCount += slot.length
            slot.location = UInt64(start) | UInt64(slot.length) << 40
            var index = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[index].hash != Self.empty { index = (index + 1) & mask }
            slots[index] = slot
        }
        oldSlots.deallocate()
        oldArena.deallocate()
    }

    private static func allocateSlots(_ capacity: Int) -> UnsafeMutablePointer<Slot> {
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        slots.initialize(
            repeating: Slot(hash: empty, entry: Entry(eventTime: 0, offset: 0), location: 0),
            count: capacity
        )
        return slots
    }

    // MARK: Hashing

    static func hash(_ id: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(bytes: id)
        let hash = UInt64(bitPattern: Int64(hasher.finalize()))
        return hash > removed ? hash : hash + 2
    }

    private static func cut(_ id: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        id.count <= maxIdBytes ? id : UnsafeRawBufferPointer(rebasing: id[..<maxIdBytes])
    }
}
