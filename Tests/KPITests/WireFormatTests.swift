import Foundation
import Models
import ServiceKit
import Simulator
import Testing

@testable import KPI

/// The hand-written encodings read back as what was written.
@Suite("KPI wire formats")
struct WireFormatTests {
    @Test func partialMessageJSONDecodesToTheSameMessage() throws {
        var counters = KPICounters()
        counters[.offered] = 12
        counters[.sentimentMicros] = -250_000
        counters.tallies["mention:weibo|own|negative"] = 3
        counters.tallies["campaign:双11 \"quoted\"|neutral"] = 1
        let message = PartialMessage(
            type: "partial",
            source: 3,
            partitions: 4,
            size: .hour,
            start: 1_795_593_600_000,
            end: 1_795_597_200_000,
            final: true,
            cells: [PartialCell(dimension: .queue, value: "vip \"a\\b\"", counters: counters)],
            closed: nil
        )
        let decoded = try JSONDecoder().decode(PartialMessage.self, from: Data(message.json))
        #expect(decoded == message)
        let watermark = PartialMessage(
            type: "watermark",
            source: 0,
            partitions: 4,
            size: nil,
            start: nil,
            end: nil,
            final: nil,
            cells: nil,
            closed: ["minute": -5, "day": .max]
        )
        #expect(try JSONDecoder().decode(PartialMessage.self, from: Data(watermark.json)) == watermark)
    }

    @Test func customerStateRoundTripsThroughItsCompactForm() throws {
        let state = CustomerState(tier: "high", recent: ["billing": [[1, 2], [3, 4]], "a;b=c,d:e 话费": [[-5, 6]]])
        let json = try JSONEncoder().encode(state)
        #expect(try JSONDecoder().decode(CustomerState.self, from: json) == state)
        let empty = CustomerState()
        #expect(try JSONDecoder().decode(CustomerState.self, from: try JSONEncoder().encode(empty)) == empty)
    }
}

/// The binary form of the partials and merge parts (``PartialCodec``).
@Suite("KPI binary partials")
struct PartialCodecTests {
    static let texts = ["all", "phone", "", "话费 账单", "vip \"a\\b\"", "new\nline", "emoji 🎉", "a|b;c"]

    static func randomInteger(_ random: inout SimulationRandom) -> Int64 {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return 0
        case 1: return Int64.random(in: -200...200, using: &random)
        case 2: return [Int64.min, Int64.max, -1, 1 << 62].randomElement(using: &random)!
        default: return Int64.random(in: Int64.min...Int64.max, using: &random)
        }
    }

    static func randomCells(_ random: inout SimulationRandom) -> [PartialCell] {
        (0..<Int.random(in: 0...6, using: &random)).map { _ in
            var tallies: [String: Int64]?
            if Bool.random(using: &random) {
                tallies = [:]
                for _ in 0..<Int.random(in: 0...3, using: &random) {
                    tallies![texts.randomElement(using: &random)!] = randomInteger(&random)
                }
            }
            return PartialCell(
                d: KPIDimension.allCases.randomElement(using: &random)!,
                v: texts.randomElement(using: &random)!,
                c: (0..<Int.random(in: 0...45, using: &random)).map { _ in randomInteger(&random) },
                t: tallies
            )
        }
    }

    static func randomMessage(_ random: inout SimulationRandom) -> PartialMessage {
        func maybe<T>(_ value: T) -> T? { Bool.random(using: &random) ? value : nil }
        return PartialMessage(
            type: ["partial", "watermark", "话"].randomElement(using: &random)!,
            source: Int32.random(in: Int32.min...Int32.max, using: &random),
            partitions: Int32.random(in: 0...64, using: &random),
            size: maybe(KPIWindowSize.allCases.randomElement(using: &random)!),
            start: maybe(randomInteger(&random)),
            end: maybe(randomInteger(&random)),
            final: maybe(Bool.random(using: &random)),
            cells: maybe(randomCells(&random)),
            closed: maybe(["minute": randomInteger(&random), "day": randomInteger(&random)])
        )
    }

    static func decode(_ bytes: [UInt8]) -> Result<PartialMessage, PartialCodecError> {
        bytes.withUnsafeBytes { raw in
            do throws(PartialCodecError) { return .success(try PartialCodec.decodeMessage(raw)) } catch {
                return .failure(error)
            }
        }
    }

    static func decodePart(_ bytes: [UInt8]) -> Result<MergePart, PartialCodecError> {
        bytes.withUnsafeBytes { raw in
            do throws(PartialCodecError) { return .success(try PartialCodec.decodeMergePart(raw)) } catch {
                return .failure(error)
            }
        }
    }

    @Test func messagesRoundTrip() throws {
        var random = SimulationRandom(seed: 1)
        for _ in 0..<2000 {
            let message = Self.randomMessage(&random)
            let bytes = PartialCodec.encode(message)
            let decoded = try Self.decode(bytes).get()
            #expect(decoded == message)
            // The same message always gives the same bytes (tallies and closed are sorted).
            #expect(PartialCodec.encode(decoded) == bytes)
        }
    }

    @Test func mergePartsRoundTripThroughTheChangelogCodec() {
        var random = SimulationRandom(seed: 2)
        for _ in 0..<1000 {
            let part = MergePart(
                final: Bool.random(using: &random),
                end: Self.randomInteger(&random),
                cells: Self.randomCells(&random)
            )
            var bytes: [UInt8] = []
            PartialCodec.mergeCodec.encode(part, &bytes)
            #expect(bytes.withUnsafeBytes { PartialCodec.mergeCodec.decode($0) } == part)
        }
    }

    @Test func theBinaryFormIsSmallerThanTheJSON() {
        var counters = KPICounters()
        counters[.offered] = 1200
        counters[.answeredWaitMillis] = 86_400_123
        let cells = (0..<100).map { PartialCell(dimension: .queue, value: "queue-\($0)", counters: counters) }
        let message = PartialMessage(
            type: "partial",
            source: 2,
            partitions: 6,
            size: .day,
            start: 1_795_593_600_000,
            end: 1_795_680_000_000,
            final: false,
            cells: cells,
            closed: nil
        )
        #expect(PartialCodec.encode(message).count * 2 < message.json.count)
    }

    /// Truncations, every single-byte change of valid encodings and random bytes: an error or a
    /// message, never a trap.
    @Test func garbageIsAnErrorNeverACrash() {
        var random = SimulationRandom(seed: 3)
        var errors = 0
        for _ in 0..<200 {
            let bytes = PartialCodec.encode(Self.randomMessage(&random))
            for cut in 0..<bytes.count {
                if case .failure = Self.decode(Array(bytes[..<cut])) { errors += 1 }
            }
            for index in bytes.indices {
                var changed = bytes
                changed[index] = UInt8.random(in: 0...255, using: &random)
                _ = Self.decode(changed)
                _ = changed.withUnsafeBytes { PartialCodec.mergeCodec.decode($0) }
            }
        }
        #expect(errors > 0)
        for length in 0..<300 {
            let noise = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = Self.decode(noise)
            _ = noise.withUnsafeBytes { PartialCodec.mergeCodec.decode($0) }
        }
        // Clear reasons for the common cases.
        #expect(Self.decode([]) == .failure(PartialCodecError(reason: "truncated")))
        #expect(
            Self.decode(Array(#"{"type":"partial"}"#.utf8))
                == .failure(PartialCodecError(reason: "not a binary KPI partial"))
        )
        // A count bigger than the bytes left is refused before anything is allocated.
        let huge: [UInt8] = [0xB2, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]
        #expect(Self.decodePart(huge) == .failure(PartialCodecError(reason: "count past the end")))
    }
}

@Suite("KPI processor reads partials in both forms")
struct KPIPartialFormTests {
    @Test func binaryGarbageIsDeadLetteredAndJSONPartialsAreStillRead() {
        let harness = Harness(wall: 1_795_593_600_000)
        harness.send("cs.kpi.partials", bytes: [0xB1])
        #expect(harness.failures.map(\.reason) == ["invalid"])
        #expect(harness.failures.first?.message.contains("truncated") == true)
        var counters = KPICounters()
        counters[.contacts] = 3
        let partial = PartialMessage(
            type: "partial",
            source: 0,
            partitions: 1,
            size: .minute,
            start: 1_795_593_600_000,
            end: 1_795_593_660_000,
            final: true,
            cells: [PartialCell(dimension: .overall, value: "all", counters: counters)],
            closed: nil
        )
        let watermark = PartialMessage(
            type: "watermark",
            source: 0,
            partitions: 1,
            size: nil,
            start: nil,
            end: nil,
            final: nil,
            cells: nil,
            closed: ["minute": 1_795_593_660_000 + 86_400_000]
        )
        harness.send("cs.kpi.partials", bytes: partial.json)
        harness.send("cs.kpi.partials", bytes: watermark.json)
        #expect(harness.failures.count == 1)
        let finals = (try? harness.finals()) ?? [:]
        #expect(
            finals.values.contains { $0.window == .minute && $0.value == "all" && $0.counts.counters[.contacts] == 3 }
        )
    }
}

/// The binary `cs.kpi.windows` cell values.
@Suite("KPI binary cells")
struct CellCodecTests {
    static func decode(_ bytes: [UInt8]) -> Result<Cell, PartialCodecError> {
        bytes.withUnsafeBytes { raw in
            do throws(PartialCodecError) { return .success(try CellStore.decodeBinary(raw)) } catch {
                return .failure(error)
            }
        }
    }

    static func error(_ bytes: [UInt8]) -> PartialCodecError? {
        if case .failure(let error) = decode(bytes) { return error }
        return nil
    }

    @Test func cellsRoundTripAndGarbageIsAnError() throws {
        var random = SimulationRandom(seed: 4)
        for _ in 0..<1000 {
            var counters = KPICounters()
            for field in KPICounters.Field.allCases where Bool.random(using: &random) {
                counters[field] = PartialCodecTests.randomInteger(&random)
            }
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                counters.tallies[PartialCodecTests.texts.randomElement(using: &random)!] =
                    PartialCodecTests.randomInteger(&random)
            }
            let cell = Cell(counters: counters, offset: PartialCodecTests.randomInteger(&random))
            let bytes = CellStore.encode(cell)
            let decoded = try Self.decode(bytes).get()
            #expect(decoded.counters == cell.counters)
            #expect(decoded.offset == cell.offset)
            // Smaller than the JSON form it replaces.
            var json: [UInt8] = []
            CellStore.encodeJSON(cell, into: &json)
            #expect(bytes.count < json.count)
            for cut in 0..<bytes.count {
                if case .success = Self.decode(Array(bytes[..<cut])) { Issue.record("a truncated cell was read") }
            }
            var changed = bytes
            changed[Int.random(in: 0..<changed.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            _ = Self.decode(changed)
        }
        #expect(Self.error([]) == PartialCodecError(reason: "truncated"))
        #expect(Self.error(Array(#"{"o":1,"c":[]}"#.utf8)) == PartialCodecError(reason: "not a binary KPI cell"))
    }
}
