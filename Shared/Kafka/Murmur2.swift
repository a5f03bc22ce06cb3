/// Kafka's murmur2 key hash, as the Java client's default partitioner and librdkafka's
/// `murmur2_random` partitioner compute it.
public enum Murmur2 {
    /// The 32-bit murmur2 hash of `key` with Kafka's seed (0x9747b28c).
    public static func hash<Bytes: Collection<UInt8>>(_ key: Bytes) -> Int32 {
        let m: UInt32 = 0x5bd1_e995
        let seed: UInt32 = 0x9747_b28c
        let length = key.count
        var h = seed ^ UInt32(truncatingIfNeeded: length)
        let bytes = Array(key)
        var index = 0
        while index + 4 <= length {
            var k =
                UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(
                    bytes[index + 3]
                ) << 24
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
            index += 4
        }
        let rest = length - index
        if rest >= 3 { h ^= UInt32(bytes[index + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(bytes[index + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(bytes[index])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition the Java client (and `murmur2_random`) chooses for a non-empty key:
    /// the hash with its sign bit cleared, modulo the partition count.
    public static func partition<Bytes: Collection<UInt8>>(forKey key: Bytes, partitionCount: Int32) -> Int32 {
        precondition(partitionCount > 0, "a topic has at least one partition")
        return (hash(key) & 0x7fff_ffff) % partitionCount
    }
}
