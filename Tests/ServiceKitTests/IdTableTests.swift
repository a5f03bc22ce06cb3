import TestSupport
import Testing

@testable import ServiceKit

/// The dedup table against a dictionary doing the same operations: random inserts, replacements,
/// removals and age sweeps, with ids of every length (empty, colliding prefixes, non-ASCII).
@Suite("id table")
struct IdTableTests {
    static func int(_ random: inout SplitMix64, _ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

    static func id(_ number: Int) -> [UInt8] {
        switch number % 5 {
        case 0: return []  // the empty id is an id too
        case 1: return Array("evt-\(number)".utf8)
        case 2: return Array("evt-\(number)".utf8) + [0]  // a prefix of another is another id
        case 3: return Array("事件-\(number)-é".utf8)
        default: return Array(repeating: UInt8(truncatingIfNeeded: number), count: number % 300)
        }
    }

    @Test func behavesAsADictionaryUnderRandomOperations() {
        var random = SplitMix64(seed: 2026)
        let table = IdTable()
        var model: [[UInt8]: IdTable.Entry] = [:]
        for step in 0..<200_000 {
            let id = Self.id(Self.int(&random, 20_000))
            let entry = IdTable.Entry(eventTime: Int64(Self.int(&random, 1000)), offset: Int64(step))
            id.withUnsafeBytes { id in
                switch Self.int(&random, 10) {
                case 0..<4:
                    let existing = table.insertIfAbsent(id, entry)
                    #expect(existing == model[Array(id)])
                    if existing == nil { model[Array(id)] = entry }
                case 4..<6:
                    table.set(id, entry)
                    model[Array(id)] = entry
                case 6..<8:
                    #expect(table.remove(id) == (model.removeValue(forKey: Array(id)) != nil))
                default:
                    #expect(table.get(id) == model[Array(id)])
                }
            }
            if step % 20_000 == 19_999 {
                // An age sweep, as expiry does.
                let cutoff = Int64(Self.int(&random, 300))
                let removed = table.removeAll { $0.eventTime <= cutoff }
                let before = model.count
                model = model.filter { $0.value.eventTime > cutoff }
                #expect(removed == before - model.count)
            }
            #expect(table.count == model.count)
        }
        var seen: [[UInt8]: IdTable.Entry] = [:]
        table.forEach { id, entry in seen[Array(id)] = entry }
        #expect(seen == model)
    }

    @Test func memoryFollowsTheIdsHeldAndShrinksAfterASweep() {
        let table = IdTable()
        for number in 0..<100_000 {
            Array("0f8fad5b-d9cb-469f-a165-\(100_000_000_000 + number)".utf8).withUnsafeBytes { id in
                _ = table.insertIfAbsent(id, IdTable.Entry(eventTime: Int64(number), offset: Int64(number)))
            }
        }
        let full = table.bytes
        // 36-byte ids: 32-byte slots at most half full after growth, and the ids themselves.
        #expect(full / 100_000 < 200, "\(full / 100_000) bytes per id")
        #expect(table.removeAll { $0.eventTime < 99_000 } == 99_000)
        #expect(table.count == 1000)
        #expect(table.bytes < full / 20, "the table shrank: \(table.bytes) of \(full) bytes")
        Array("0f8fad5b-d9cb-469f-a165-100000099999".utf8).withUnsafeBytes { id in
            #expect(table.get(id) == IdTable.Entry(eventTime: 99_999, offset: 99_999))
        }
    }

    @Test func idsLongerThanTheChangelogAllowsAreCutAlike() {
        let table = IdTable()
        let long = Array(repeating: UInt8(ascii: "x"), count: IdTable.maxIdBytes + 10)
        let cut = Array(long.prefix(IdTable.maxIdBytes))
        long.withUnsafeBytes { _ = table.insertIfAbsent($0, IdTable.Entry(eventTime: 1, offset: 1)) }
        cut.withUnsafeBytes { #expect(table.get($0) == IdTable.Entry(eventTime: 1, offset: 1)) }
    }
}
