import Simulator

/// SplitMix64: a seeded generator for tests, so that a failure replays from its seed on every
/// machine (the system generator is not seedable). The simulator's generator, under the name the
/// tests use: one implementation of the algorithm.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var random: SimulationRandom

    public init(seed: UInt64) { random = SimulationRandom(seed: seed) }

    public mutating func next() -> UInt64 { random.next() }
}
