import Foundation
import Models
import Testing

/// The fast encoder must write the bytes `TandemJSON.encode` writes, and throw what it throws.
@Suite("FastJSON encoding equals the reference")
struct FastJSONEncoderTests {
    enum Outcome: Equatable {
        case bytes([UInt8])
        case error(ModelError)
    }

    static func outcome(_ body: () throws(ModelError) -> [UInt8]) -> Outcome {
        do { return .bytes(try body()) } catch { return .error(error) }
    }

    static func check(_ value: Interaction, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast = outcome { () throws(ModelError) in try FastJSON.encode(value) }
        let reference = outcome { () throws(ModelError) in try TandemJSON.encode(value) }
        #expect(fast == reference, "\(value)", sourceLocation: sourceLocation)
    }

    static func check(_ value: RawInteraction, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast = outcome { () throws(ModelError) in try FastJSON.encode(value) }
        let reference = outcome { () throws(ModelError) in try TandemJSON.encode(value) }
        #expect(fast == reference, "\(value)", sourceLocation: sourceLocation)
    }

    static func check(_ value: DeadLetter, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast = outcome { () throws(ModelError) in try FastJSON.encode(value) }
        let reference = outcome { () throws(ModelError) in try TandemJSON.encode(value) }
        #expect(fast == reference, "\(value)", sourceLocation: sourceLocation)
    }

    @Test func fixturesEncodeToTheSameBytes() throws {
        Self.check(try TandemJSON.decode(Interaction.self, from: try fixture("interaction")))
        for name in ["raw-interaction-full", "raw-interaction-odd-numbers", "raw-interaction-opinion"] {
            let raw = try TandemJSON.decode(RawInteraction.self, from: try fixture(name))
            Self.check(raw)
            let interaction = try Interaction(normalizing: raw, receivedAt: now)
            Self.check(interaction)
        }
        Self.check(try TandemJSON.decode(DeadLetter.self, from: try fixture("dead-letter-base64")))
        Self.check(CodecBenchmark.sampleInteraction)
    }

    @Test func everyControlCharacterAndAwkwardStringIsEscapedAlike() {
        var raw = validRaw()
        raw.text = String((0..<0x80).map { Character(UnicodeScalar(UInt8($0))) })
        raw.topic = "\u{2028}\u{2029}\u{FEFF}\u{FFFD}/\\\"e\u{301}👩‍👩‍👧"
        raw.signals = ["", "\u{0}", "a\nb", "中文"]
        Self.check(raw)
    }

    @Test func attributeKeysAreSortedByTheirBytes() {
        var raw = validRaw()
        raw.attributes = [
            "b": "1", "B": "2", "a10": "", "a9": "", "中": "", "é": "", "😀": "", "ｚ": "", "": "",
            "_": "", "Z": "", "\u{1}": "",
        ]
        Self.check(raw)
        raw.attributes = ["only": "one"]
        Self.check(raw)
        raw.attributes = [:]
        Self.check(raw)
    }

    @Test func numbersAreFormattedAlike() {
        let doubles: [Double] = [
            0, -0.0, 1, -1, 310, 42.5, -0.75, 0.1, 0.1 + 0.2, 1e16, 1e15, 123_456_789_012_345_680, 1e20, 1e-7,
            .leastNonzeroMagnitude,
            .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1.5e300, 1e-5, 0.0001,
            9_007_199_254_740_992, 2.5e-8,
        ]
        for value in doubles {
            var raw = validRaw()
            raw.waitSeconds = value
            raw.sentiment = -value
            Self.check(raw)
        }
        for value in [0, 1, -1, 9, 10, 99, 100, Int.max, Int.min, Int.min + 1, 1_000_000_007] {
            var raw = validRaw()
            raw.reach = value
            raw.transfers = 0 &- value &+ 1
            Self.check(raw)
        }
    }

    /// Doubles with a fraction are written without formatting a Double when they are short
    /// decimals: decimals of 1…17 digits at every position, their neighbours one bit away (the
    /// shortest digits of those are long), random bit patterns and halfway cases.
    @Test func shortDecimalsAreFormattedAlike() {
        var generator = RecordGenerator(seed: 0xDEC1)
        var values: [Double] = [0.001, 0.000_999_999_999_999_9, 1e15 - 0.5, 999_999_999_999_999.9, 0.5, 12.25]
        for _ in 0..<4000 {
            let digits = generator.int(1..<18)
            var mantissa: UInt64 = 0
            for _ in 0..<digits { mantissa = mantissa * 10 + UInt64(generator.int(0..<10)) }
            let decimal = Double("\(mantissa)e-\(generator.int(0..<19))")!
            values += [decimal, decimal.nextUp, decimal.nextDown, decimal + 0.5]
            values.append(Double(bitPattern: 0x3F50_0000_0000_0000 + generator.next() % 0x0130_0000_0000_0000))
        }
        for value in values {
            var raw = validRaw()
            raw.waitSeconds = value
            raw.sentiment = -value
            Self.check(raw)
        }
    }

    @Test func timestampsAreFormattedAlikeUpToTheYearLimits() {
        let seconds: [Double] = [
            0, -0.0005, 0.0005, -0.0004999, 1_795_595_400.123_4, 1_795_595_400.123_5, -1, -86_400.000_5,
            -62_135_596_800, -62_135_596_800.000_4, -62_135_596_800.000_5, -62_135_596_800.001,
            253_402_300_799.999, 253_402_300_799.999_4, 253_402_300_799.999_5, 253_402_300_800, 951_782_400,
            -2_208_988_800, 3e11, -3e11, 1e300,
        ]
        for value in seconds {
            var raw = validRaw()
            raw.occurredAt = Date(timeIntervalSince1970: value)
            Self.check(raw)
            Self.check(
                Interaction(
                    eventId: "e",
                    occurredAt: Date(timeIntervalSince1970: 0),
                    receivedAt: Date(timeIntervalSince1970: value),
                    channel: .phone,
                    kind: .inquiry
                )
            )
        }
    }

    /// The reference traps here (`Date.description` of a non-finite date); the fast path throws.
    @Test func nonFiniteDatesAreErrorsNotTraps() {
        for value in [Double.infinity, -.infinity, .nan] {
            var raw = validRaw()
            raw.occurredAt = Date(timeIntervalSince1970: value)
            #expect(throws: ModelError.self) { try FastJSON.encode(raw) }
            var interaction = CodecBenchmark.sampleInteraction
            interaction.receivedAt = Date(timeIntervalSince1970: value)
            #expect(throws: ModelError.self) { try FastJSON.encode(interaction) }
        }
    }

    @Test func errorsAreTheReferencesAndComeInDeclarationOrder() {
        for bad in [Double.nan, .infinity, -.infinity] {
            var raw = validRaw()
            raw.sentiment = bad
            Self.check(raw)
            raw.handleSeconds = bad
            Self.check(raw)
            raw.waitSeconds = bad
            Self.check(raw)
            raw.occurredAt = Date(timeIntervalSince1970: -1e12)
            Self.check(raw)
        }
        var interaction = CodecBenchmark.sampleInteraction
        interaction.sentiment = .nan
        interaction.receivedAt = Date(timeIntervalSince1970: 1e12)
        Self.check(interaction)
        interaction.occurredAt = Date(timeIntervalSince1970: -1e12)
        Self.check(interaction)
    }

    @Test func encodingAppendsAndLeavesTheBufferAloneOnError() throws {
        var buffer: [UInt8] = Array("prefix".utf8)
        try FastJSON.encode(validRaw(), into: &buffer)
        #expect(buffer == Array("prefix".utf8) + (try TandemJSON.encode(validRaw())))
        var bad = validRaw()
        bad.sentiment = .nan
        let before = buffer
        #expect(throws: ModelError.self) { try FastJSON.encode(bad, into: &buffer) }
        #expect(buffer == before)
    }

    @Test func deadLettersEncodeAlike() {
        var generator = RecordGenerator(seed: 17)
        for round in 0..<500 {
            let payload = Array(generator.record(exotic: true).utf8)
            var bytes = payload
            if round % 3 == 0 { generator.mutate(&bytes) }
            var letter = DeadLetter(
                service: generator.pick(["intake", "segmentation", "leads", "kpi", ""]),
                reason: generator.pick(["undecodable", "invalid", "future_timestamp"]),
                message: "csat: expected an integer \u{1}\"\\/ \(round)",
                sourceTopic: "cs.interactions.raw",
                sourcePartition: Int32(truncatingIfNeeded: generator.next()),
                sourceOffset: Int64(bitPattern: generator.next()),
                originalKey: round % 4 == 0 ? nil : Array("key-\(round)".utf8) + (round % 5 == 0 ? [0xFF] : []),
                originalPayload: round % 7 == 0 ? nil : bytes,
                at: Date(timeIntervalSince1970: Double(generator.int(-62_135_596_800..<253_402_300_800)) / 1.000_1)
            )
            if round % 11 == 0 { letter.payloadOmittedBytes = generator.int(0..<2_000_000) }
            Self.check(letter)
        }
    }

    /// Every record the generator makes, as a RawInteraction and as an Interaction with random
    /// canonical fields, sub-millisecond dates and arbitrary finite doubles.
    @Test func generatedRecordsEncodeToTheSameBytes() throws {
        var generator = RecordGenerator(seed: 0xE1C0_DE)
        var checked = 0
        for _ in 0..<4000 {
            guard let raw = try? TandemJSON.decode(RawInteraction.self, from: generator.record(exotic: false)) else {
                continue
            }
            Self.check(raw)
            func double(_ value: Double?) -> Double? {
                guard value != nil || generator.chance(30) else { return nil }
                let random = Double(bitPattern: generator.next())
                return random.isFinite && generator.chance(50) ? random : value ?? 1.25
            }
            let interaction = Interaction(
                eventId: raw.eventId ?? "e",
                occurredAt: raw.occurredAt ?? Date(timeIntervalSince1970: Double(generator.int(0..<2_000_000_000)) / 7),
                receivedAt: Date(timeIntervalSince1970: Double(generator.int(-62_135_596_800..<253_402_300_799)) / 1.3),
                channel: generator.pick(Channel.allCases),
                kind: generator.pick(InteractionKind.allCases),
                customerId: raw.customerId,
                department: generator.chance(50) ? generator.pick(Department.allCases) : nil,
                topic: raw.topic,
                queue: raw.queue,
                teamId: raw.teamId,
                agentId: raw.agentId,
                waitSeconds: double(raw.waitSeconds),
                answered: raw.answered,
                handleSeconds: double(raw.handleSeconds),
                resolved: raw.resolved,
                transfers: raw.transfers,
                refersTo: raw.refersTo,
                csat: raw.csat,
                effort: raw.effort,
                nps: raw.nps,
                sentiment: double(raw.sentiment),
                signals: raw.signals,
                brand: raw.brand,
                campaignId: raw.campaignId,
                reach: raw.reach,
                text: raw.text,
                attributes: raw.attributes
            )
            Self.check(interaction)
            checked += 1
        }
        #expect(checked > 3000)
    }

    @Test func theBenchmarkRuns() {
        let result = CodecBenchmark.run(records: 200)
        #expect(result.fastPerSecond > 0 && result.foundationPerSecond > 0)
        #expect(FastJSONDecoder.implementation.contains("/"))
    }
}
