import Foundation
import Kafka
import Leads
import Models
import ServiceKit
import Simulator
import Testing

/// The binary changelog layout of the per-customer lead state: every state comes back equal, the
/// same state always gives the same bytes, and bytes that are not a state give nil (the store
/// reports the key), never a trap.
@Suite("CustomerLeadState changelog codec")
struct CustomerLeadStateCodecTests {
    /// The simulator's seeded SplitMix64, so a failure can be replayed from its seed.
    struct Generator {
        var random: SimulationRandom
        init(state: UInt64) { random = SimulationRandom(seed: state) }
        mutating func next() -> UInt64 { random.next() }
        mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }
        mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }
        mutating func time() -> Int64 { Int64(bitPattern: next()) >> UInt64(int(0..<40)) }
        mutating func text() -> String {
            pick(["", "C-1", "ld-0123456789abcdef", "中文客户", "👩‍👩‍👧", "a\"b\\c\n\u{0}", "P150", "dataMB", "e\u{301}"])
                + (chance(30) ? String(int(0..<1_000_000)) : "")
        }
    }

    static func state(_ g: inout Generator) -> CustomerLeadState {
        var state = CustomerLeadState()
        state.consent = g.pick([nil, true, false])
        state.optedOut = g.chance(20)
        state.openComplaint = g.chance(20)
        state.creditScore = g.chance(80) ? g.pick([0, 42.5, 100, -0.0, .nan, .infinity, 1e-300]) : nil
        state.planId = g.chance(80) ? g.text() : nil
        state.tier = g.chance(80) ? g.pick(Rules.Tier.allCases) : nil
        state.activity = g.chance(80) ? g.pick(ActivityState.allCases) : nil
        state.churnRisk = g.chance(80) ? g.pick(Rules.Level.allCases) : nil
        for _ in 0..<g.int(0..<4) {
            var usage: [String: Double] = [:]
            for _ in 0..<g.int(0..<4) { usage[g.text()] = Double(g.int(-1000..<100_000)) / 7 }
            state.bills.append(BillUsage(period: g.text(), usage: usage))
        }
        for _ in 0..<g.int(0..<5) { state.complaints.append(g.time()) }
        state.lastEscalation = g.chance(30) ? g.time() : nil
        for _ in 0..<g.int(0..<4) {
            state.declines.append(DeclineMark(at: g.time(), type: g.chance(30) ? nil : g.pick(LeadType.allCases)))
        }
        for _ in 0..<g.int(0..<5) {
            var mark = LeadMark(
                leadId: g.text(),
                type: g.pick(LeadType.allCases),
                productId: g.text(),
                tier: g.pick(Rules.Tier.allCases),
                createdAt: g.time(),
                expiresAt: g.time()
            )
            mark.reached = g.chance(50)
            mark.accepted = g.chance(50)
            mark.closed = g.chance(50)
            state.leads.append(mark)
        }
        if g.chance(30) {
            state.pendingRetention = PendingRetention(
                triggerEventId: g.text(),
                since: g.time(),
                until: g.time(),
                evidence: g.text()
            )
        }
        for slot in 0..<InputOffsets.count where g.chance(70) { state.offsets[slot] = g.time() }
        if g.chance(20) {
            var counts: [String: PropensityCounts] = [:]
            for _ in 0..<g.int(0..<6) {
                counts[g.text()] = PropensityCounts(accepted: g.int(0..<1000), contacted: g.int(0..<100_000))
            }
            state.propensity = counts
        }
        return state
    }

    static func bytes(_ state: CustomerLeadState) -> [UInt8] {
        var bytes: [UInt8] = []
        CustomerLeadState.codec.encode(state, &bytes)
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> CustomerLeadState? {
        bytes.withUnsafeBytes { CustomerLeadState.codec.decode($0) }
    }

    /// Equal but for NaN, which is never equal to itself: compare the credit score by its bits.
    static func same(_ a: CustomerLeadState?, _ b: CustomerLeadState) -> Bool {
        guard var a else { return false }
        var b = b
        guard a.creditScore?.bitPattern == b.creditScore?.bitPattern else { return false }
        a.creditScore = nil
        b.creditScore = nil
        return a == b
    }

    @Test func everyGeneratedStateRoundTrips() {
        var g = Generator(state: 0x1EAD_57A7E)
        for _ in 0..<5000 {
            let state = Self.state(&g)
            let bytes = Self.bytes(state)
            #expect(Self.same(Self.decode(bytes), state), "\(state)")
            // The encoder appends: what was in the buffer stays.
            var buffer: [UInt8] = [1, 2, 3]
            CustomerLeadState.codec.encode(state, &buffer)
            #expect(buffer == [1, 2, 3] + bytes)
        }
        #expect(Self.decode(Self.bytes(CustomerLeadState())) == CustomerLeadState())
    }

    @Test func oneStateAlwaysGivesTheSameBytes() {
        var state = CustomerLeadState()
        var forward: [String: Double] = [:]
        var backward: [String: Double] = [:]
        let metrics = (0..<40).map { "metric\($0)" }
        for metric in metrics { forward[metric] = 1 }
        for metric in metrics.reversed() { backward[metric] = 1 }
        state.bills = [BillUsage(period: "2026-01", usage: forward)]
        var other = state
        other.bills = [BillUsage(period: "2026-01", usage: backward)]
        #expect(Self.bytes(state) == Self.bytes(other))
    }

    @Test func truncatedExtendedAndCorruptBytesAreNil() {
        var g = Generator(state: 99)
        var decodedCorrupt = 0
        for _ in 0..<300 {
            let bytes = Self.bytes(Self.state(&g))
            for length in 0..<bytes.count { #expect(Self.decode(Array(bytes[..<length])) == nil) }
            #expect(Self.decode(bytes + [0]) == nil)
            var wrongVersion = bytes
            wrongVersion[0] = 2
            #expect(Self.decode(wrongVersion) == nil)
            // A flipped byte either still reads as some state or gives nil: never a trap.
            for _ in 0..<20 {
                var corrupt = bytes
                corrupt[g.int(0..<corrupt.count)] ^= UInt8(truncatingIfNeeded: g.int(1..<256))
                if Self.decode(corrupt) != nil { decodedCorrupt += 1 }
            }
        }
        for _ in 0..<20_000 {
            let random = (0..<g.int(0..<200)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            _ = Self.decode(random)
        }
        // Bad codes, a bool that is neither 0 nor 1, a huge count, invalid UTF-8.
        var state = CustomerLeadState()
        state.tier = .high
        state.planId = "P1"
        let good = Self.bytes(state)
        #expect(Self.decode(good) == state)
        var badConsent = good
        badConsent[1] = 3
        #expect(Self.decode(badConsent) == nil)
        var badBool = good
        badBool[2] = 2
        #expect(Self.decode(badBool) == nil)
        // version, consent, optedOut, openComplaint, credit flag, plan flag, UInt32 length, "P1", tier.
        var badTier = good
        badTier[12] = 9
        #expect(Self.decode(badTier) == nil)
        var badUTF8 = good
        badUTF8[10] = 0xFF
        #expect(Self.decode(badUTF8) == nil)
        var hugeCount = good
        hugeCount.replaceSubrange(15..<19, with: [0xFF, 0xFF, 0xFF, 0x7F])
        #expect(Self.decode(hugeCount) == nil)
        #expect(decodedCorrupt >= 0)
    }

    @Test func theProcessorsStoreWritesTheBinaryLayout() throws {
        let processor = LeadsProcessor(configuration: ServiceConfiguration(service: "leads"), rules: .defaults)
        var state = CustomerLeadState()
        state.consent = true
        state.offsets[1] = 7
        processor.customers.put("C-1", state, partition: 3, offset: 7)
        var batch = ProducerBatch()
        try processor.customers.appendChanges(to: &batch)
        #expect(batch.count == 1)
        // 8 bytes of offset, then the layout.
        let expected = withUnsafeBytes(of: Int64(7).littleEndian) { Array($0) } + Self.bytes(state)
        let record = batch.record(at: 0)
        #expect(record.key == Array("C-1".utf8))
        #expect(record.partition == 3)
        #expect(record.value == expected)
    }
}
