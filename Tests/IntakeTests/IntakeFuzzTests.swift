import Foundation
import Intake
import Kafka
import Models
import ServiceKit
import Simulator
import Testing

/// 100,000 random and mutated records through the intake's decoder and rules: none may crash the
/// service, and every one must be accounted for — an output, a counted duplicate, or a failure
/// with a reason (which the loop dead-letters).
@Suite("intake fuzz")
struct IntakeFuzzTests {
    static let seeds: [String] = [
        #"{"eventId":"e-1","occurredAt":"2026-11-25T08:29:00.000Z","channel":"微信","kind":"complaint","customerId":"c-1","topic":"Billing","signals":["Churn_Threat"],"text":"电话13912345611 邮箱 a.b@example.com"}"#,
        #"{"eventId":"e-2","occurredAt":"2026-11-25T08:00:00Z","channel":"weibo","kind":"opinion","brand":"own","reach":10,"sentiment":-0.5,"text":"身份证 11010519491231002X"}"#,
        #"{"eventId":"e-3","occurredAt":"2026-11-25T07:00:00.5+08:00","channel":"phone","kind":"survey","customerId":"c-3","csat":5,"nps":10,"effort":1,"refersTo":"e-1"}"#,
        #"{"eventId":"e-4","occurredAt":"2026-11-25T08:00:00.000Z","channel":"app","kind":"inquiry","customerId":"c-4","waitSeconds":12.5,"answered":true,"handleSeconds":300,"attributes":{"k":"v"}}"#,
    ]

    @Test func aHundredThousandRandomAndMutatedRecordsAreAllAccountedFor() {
        let harness = Harness()
        // The simulator's seeded SplitMix64: a failure replays from the seed.
        var random = SimulationRandom(seed: 20_261_125)
        let total = 100_000
        var outputs = 0
        var failures: [String: Int] = [:]
        let alphabet = Array(#"{}[]",:0123456789.eE-+truefalsnul\"#.utf8) + [0xe5, 0xbe, 0xae, 0xff, 0x00, 0x20]
        for index in 0..<total {
            var bytes = Array(Self.seeds[index % Self.seeds.count].utf8)
            switch index % 4 {
            case 0:
                // Random bytes of random length.
                bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            case 1:
                // Flip, insert or delete a few bytes of a valid record.
                for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                    let at = Int.random(in: 0..<bytes.count, using: &random)
                    switch Int.random(in: 0...2, using: &random) {
                    case 0: bytes[at] = alphabet.randomElement(using: &random)!
                    case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: at)
                    default: bytes.remove(at: at)
                    }
                }
            case 2:
                // Truncated.
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            default:
                // Valid shape with a fresh event id (so it is not a duplicate).
                bytes = Array(
                    String(decoding: bytes, as: UTF8.self).replacingOccurrences(
                        of: #""eventId":"e-"#,
                        with: #""eventId":"f\#(index)-"#
                    ).utf8
                )
            }
            switch harness.send(bytes, partition: Int32(index % 4)) {
            case .success(let records): outputs += records.count
            case .failure(let failure):
                #expect(!failure.reason.isEmpty)
                failures[failure.reason, default: 0] += 1
            }
        }
        let failed = failures.values.reduce(0, +)
        #expect(outputs + harness.processor.duplicates + harness.processor.replayed + failed == total)
        #expect(outputs == harness.processor.published)
        #expect(outputs >= total / 4)  // at least every fresh valid record was published
        #expect(
            Set(failures.keys).isSubset(of: ["invalid_json", "not_an_object", "invalid_field", "invalid", "oversized"])
        )
    }
}

/// The processor's two paths give the same output: the simulator's live traffic (every channel
/// and alias, Chinese text with PII, opinion posts, invalid records) through the processor, whose
/// one-pass transcoder takes the valid records, and through the reference path — the validator's
/// `Interaction` encoded with `FastJSON` — byte for byte.
@Suite("intake's transcoder and reference path agree")
struct IntakePathsTests {
    @Test func simulatedTrafficTakesTheOnePassPathAndEqualsTheReferencePath() throws {
        let start = Date(timeIntervalSince1970: Double(Harness.now) / 1000 - 3600)
        var generator = TrafficGenerator(seed: 2026, start: start, customers: 500, rate: 50, historyMonths: 0)
        let harness = Harness()
        let validator = IntakeValidator()
        var compared = 0
        var invalid = 0
        while compared + invalid < 3000 {
            let record = generator.next()
            guard record.topic == Topics.interactionsRaw else { continue }
            let reference: Result<[UInt8], ProcessingFailure> = record.value.withUnsafeBytes { value in
                do throws(ProcessingFailure) {
                    let interaction = try validator.interaction(from: value, receivedAt: harness.wallNow)
                    return .success((try? FastJSON.encode(interaction)) ?? [])
                } catch {
                    return .failure(error)
                }
            }
            let output = harness.send(record.value, offset: Int64(compared + invalid))
            switch (output, reference) {
            case (.success(let records), .success(let expected)):
                #expect(records.count == 1)
                #expect(records.first?.value == expected, "\(String(decoding: record.value, as: UTF8.self))")
                compared += 1
            case (.failure(let failure), .failure(let expected)):
                #expect(failure.reason == expected.reason)
                #expect(failure.message == expected.message)
                invalid += 1
            default:
                Issue.record("the paths disagree on \(String(decoding: record.value, as: UTF8.self))")
                return
            }
        }
        #expect(compared > 2500 && invalid > 0, "\(compared) valid, \(invalid) invalid")
        // Every valid record took the one-pass path; only the invalid ones the reference path.
        #expect(harness.processor.referencePathRecords == invalid)
    }
}
