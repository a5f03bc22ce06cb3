/// A few short names (at most 16 UTF-8 bytes each) and what they stand for, matched against a
/// record's bytes exactly, without making a string or calling `memcmp`: a name is packed into
/// two words and compared as integers. Longer names are not in the table (callers fall back).
struct NameTable<Value: Sendable>: Sendable {
    /// A name of at most 16 bytes, packed little-endian into two words.
    struct Packed: Equatable, Sendable {
        var low: UInt64 = 0
        var high: UInt64 = 0

        init?(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard bytes.count <= 16 else { return nil }
            for (index, byte) in bytes.enumerated() {
                if index < 8 {
                    low |= UInt64(byte) << (8 * UInt64(index))
                } else {
                    high |= UInt64(byte) << (8 * UInt64(index - 8))
                }
            }
        }
    }

    /// The entries, those of each name length together (one flat array: an array of arrays had
    /// its inner array retained and released on every lookup).
    private var entries: [(name: Packed, value: Value)] = []
    /// Where in ``entries`` the names of each byte count (0…16) lie.
    private var ranges = [Range<Int>](repeating: 0..<0, count: 17)

    /// The table of `entries`; names longer than 16 bytes are left out.
    init(_ entries: some Sequence<(String, Value)>) {
        var byCount = [[(name: Packed, value: Value)]](repeating: [], count: 17)
        for (name, value) in entries {
            var name = name
            name.withUTF8 { bytes in
                if let packed = Packed(bytes) { byCount[bytes.count].append((packed, value)) }
            }
        }
        for (count, named) in byCount.enumerated() {
            ranges[count] = self.entries.count..<(self.entries.count + named.count)
            self.entries.append(contentsOf: named)
        }
    }

    /// The value of the name spelled exactly `bytes`, nil when it is not in the table.
    func value(_ bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        guard let packed = Packed(bytes) else { return nil }
        for index in ranges[bytes.count] where entries[index].name == packed { return entries[index].value }
        return nil
    }
}
