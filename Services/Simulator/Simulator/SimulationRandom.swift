import Foundation

/// A seeded pseudo-random generator (SplitMix64) whose sequence is the same on every platform
/// and Swift version, unlike `SystemRandomNumberGenerator` or a hashed seed.
///
/// Every draw of the simulator goes through one of these, so a seed fixes the whole stream.
public struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Makes a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// Makes a generator seeded by the text (FNV-1a 64 of its UTF-8 bytes) and a salt, so a
    /// decision keyed by an id (a lead's id) is the same wherever and whenever it is taken.
    public init(key: String, salt: UInt64 = 0) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        state = hash ^ salt
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool {
        unit() < p
    }

    /// A uniform integer in the range.
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// A uniform double in the range.
    public mutating func double(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + unit() * (range.upperBound - range.lowerBound)
    }

    /// An element chosen uniformly.
    public mutating func pick<T>(_ items: [T]) -> T {
        items[Int(next() % UInt64(items.count))]
    }

    /// An element chosen by weight (weights ≥ 0, at least one positive).
    public mutating func pick<T>(weighted items: [(T, Double)]) -> T {
        let total = items.reduce(0) { $0 + $1.1 }
        var draw = unit() * total
        for (item, weight) in items {
            draw -= weight
            if draw < 0 { return item }
        }
        return items[items.count - 1].0
    }

    /// An exponential draw with the given mean (waiting times, patience).
    public mutating func exponential(mean: Double) -> Double {
        -mean * log(1 - unit())
    }

    /// A standard normal draw (Box–Muller).
    public mutating func normal(mean: Double = 0, deviation: Double = 1) -> Double {
        let u1 = max(unit(), 1e-12)
        let u2 = unit()
        return mean + deviation * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// A log-normal draw with the given median and spread (σ of the logarithm): handle times, reach.
    public mutating func logNormal(median: Double, sigma: Double) -> Double {
        median * exp(normal(deviation: sigma))
    }
}

/// Rounds to a number of decimals (amounts to cents, sentiment to hundredths).
func rounded(_ value: Double, places: Int) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}

/// Clamps into a closed range.
func clamped<T: Comparable>(_ value: T, _ range: ClosedRange<T>) -> T {
    min(max(value, range.lowerBound), range.upperBound)
}
