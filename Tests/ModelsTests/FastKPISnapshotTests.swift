import Foundation
import Models
import Simulator
import Testing

/// The merger's snapshot writer must write the bytes `TandemJSON.encode` writes, and throw what it throws.
@Suite("FastJSON KPI snapshots equal the reference")
struct FastKPISnapshotTests {
    enum Outcome: Equatable {
        case bytes([UInt8])
        case error(ModelError)
    }

    static func outcome(_ body: () throws(ModelError) -> [UInt8]) -> Outcome {
        do { return .bytes(try body()) } catch { return .error(error) }
    }

    static func check(_ snapshot: KPISnapshot, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast = outcome { () throws(ModelError) in try FastJSON.encode(snapshot) }
        let reference = outcome { () throws(ModelError) in try TandemJSON.encode(snapshot) }
        #expect(fast == reference, "\(snapshot)", sourceLocation: sourceLocation)
    }

    static let texts = [
        "all", "phone", "", "话费 账单", "vip \"a\\b\"", "tab\there", "new\nline", "\u{1}ctl", "emoji 🎉",
        "slash/ok", "é", "Zebra", "zebra", "_under", "\u{7F}", "\u{2028}",
    ]

    static func randomDouble(_ random: inout SimulationRandom) -> Double? {
        switch Int.random(in: 0..<8, using: &random) {
        case 0: return nil
        case 1: return 0
        case 2: return Double(Int.random(in: -100...100, using: &random))
        case 3: return Double.random(in: -1...1, using: &random)
        case 4: return Double(Int.random(in: 0...1000, using: &random)) / 3
        case 5: return Double.random(in: -1e21...1e21, using: &random)
        case 6: return Double.random(in: -1e-7...1e-7, using: &random)
        default: return Double.random(in: 0...1, using: &random)
        }
    }

    static func randomSnapshot(_ random: inout SimulationRandom) -> KPISnapshot {
        var counters = KPICounters()
        for field in KPICounters.Field.allCases {
            switch Int.random(in: 0..<4, using: &random) {
            case 0: counters[field] = 0
            case 1: counters[field] = Int64.random(in: 0...100, using: &random)
            case 2: counters[field] = Int64.random(in: Int64.min...Int64.max, using: &random)
            default: counters[field] = Int64.random(in: -5_000_000...5_000_000_000, using: &random)
            }
        }
        for _ in 0..<Int.random(in: 0...4, using: &random) {
            let text = texts.randomElement(using: &random)!
            let prefix = Bool.random(using: &random) ? KPICounts.suppressionPrefix : "mention:"
            counters.tallies[prefix + text] = Int64.random(in: -3...1_000_000, using: &random)
        }
        var rates = KPIRates()
        let paths: [WritableKeyPath<KPIRates, Double?>] = [
            \.answerRate, \.abandonRate, \.serviceLevel, \.asaSeconds, \.ahtSeconds, \.fcr, \.repeatContactRate,
            \.observedFcr, \.csatTop2Box, \.csatMean, \.cesMean, \.cesLowEffortShare, \.nps, \.complaintRate,
            \.conversion, \.optOutRate, \.sentimentMean,
        ]
        for path in paths { rates[keyPath: path] = randomDouble(&random) }
        let start = Int64.random(in: 0...4_000_000_000_000, using: &random)
        return KPISnapshot(
            window: KPIWindowSize.allCases.randomElement(using: &random)!,
            start: Date(timeIntervalSince1970: Double(start) / 1000),
            end: Date(timeIntervalSince1970: Double(start + 60_000) / 1000),
            dimension: KPIDimension.allCases.randomElement(using: &random)!,
            value: texts.randomElement(using: &random)!,
            final: Bool.random(using: &random),
            counts: KPICounts(counters),
            kpis: rates,
            definitions: KPIDefinitions(
                shortAbandonSeconds: randomDouble(&random) ?? 5,
                serviceLevelSeconds: randomDouble(&random) ?? 20,
                repeatContactDays: Int.random(in: -1...30, using: &random),
                timeZone: ["Asia/Shanghai", "UTC", texts.randomElement(using: &random)!].randomElement(using: &random)!,
                graceSeconds: Int.random(in: 0...86_400, using: &random),
                topTopics: Int.random(in: 0...1000, using: &random)
            )
        )
    }

    @Test func generatedSnapshotsEncodeToTheSameBytes() {
        var random = SimulationRandom(seed: 8)
        for _ in 0..<3000 { Self.check(Self.randomSnapshot(&random)) }
    }

    @Test func allNullRatesAndZeroCountersEncodeToTheSameBytes() {
        let snapshot = KPISnapshot(
            window: .minute,
            start: Date(timeIntervalSince1970: 1_795_593_600),
            end: Date(timeIntervalSince1970: 1_795_593_660),
            dimension: .overall,
            value: "all",
            final: false,
            counts: KPICounts(KPICounters()),
            kpis: KPIRates(),
            definitions: KPIDefinitions(
                shortAbandonSeconds: 5,
                serviceLevelSeconds: 20.5,
                repeatContactDays: 7,
                timeZone: "Asia/Shanghai",
                graceSeconds: 120,
                topTopics: 50
            )
        )
        Self.check(snapshot)
        let text = String(decoding: (try? FastJSON.encode(snapshot)) ?? [], as: UTF8.self)
        #expect(text.contains(#""answerRate":null"#))
        #expect(text.contains(#""suppressedByReason":{}"#))
    }

    @Test func unwritableSnapshotsThrowWhatTheReferenceThrows() {
        var random = SimulationRandom(seed: 9)
        var snapshot = Self.randomSnapshot(&random)
        snapshot.kpis.nps = .nan
        Self.check(snapshot)
        snapshot.kpis.nps = nil
        snapshot.definitions.serviceLevelSeconds = .infinity
        Self.check(snapshot)
        snapshot.definitions.serviceLevelSeconds = 20
        snapshot.start = Date(timeIntervalSince1970: -70_000_000_000)
        Self.check(snapshot)
        #expect((try? FastJSON.encode(snapshot)) == nil)
    }
}
