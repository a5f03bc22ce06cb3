import Foundation
import Models
import Testing

/// The fast `Lead` and `LeadSuppression` writers must write the bytes `TandemJSON.encode` writes,
/// and throw what it throws.
@Suite("FastJSON leads and suppressions equal the reference")
struct FastJSONLeadsTests {
    typealias Outcome = FastJSONEncoderTests.Outcome

    static func check(_ value: Lead, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast = FastJSONEncoderTests.outcome { () throws(ModelError) in try FastJSON.encode(value) }
        let reference = FastJSONEncoderTests.outcome { () throws(ModelError) in try TandemJSON.encode(value) }
        #expect(fast == reference, "\(value)", sourceLocation: sourceLocation)
    }

    static func check(_ value: LeadSuppression, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast = FastJSONEncoderTests.outcome { () throws(ModelError) in try FastJSON.encode(value) }
        let reference = FastJSONEncoderTests.outcome { () throws(ModelError) in try TandemJSON.encode(value) }
        #expect(fast == reference, "\(value)", sourceLocation: sourceLocation)
    }

    static let awkward = [
        "", "plain", "a\"b\\c/d", "line\nbreak\ttab\r\u{8}\u{C}", "\u{0}\u{1}\u{1F}\u{7F}", "中文 客户 套餐",
        "👩‍👩‍👧 🚀 e\u{301}", "\u{2028}\u{2029}\u{FEFF}\u{FFFD}", "{{name}}: saves 12.50",
        String((0..<0x80).map { Character(UnicodeScalar(UInt8($0))) }),
    ]

    static func lead(_ generator: inout RecordGenerator) -> Lead {
        func text() -> String {
            generator.chance(40) ? generator.pick(awkward) : generator.pick(awkward) + generator.pick(awkward)
        }
        func date() -> Date {
            Date(timeIntervalSince1970: Double(generator.int(-62_135_596_800..<253_402_300_799)) / 1.3)
        }
        func double() -> Double {
            let random = Double(bitPattern: generator.next())
            return random.isFinite && generator.chance(50) ? random : Double(generator.int(0..<10_000)) / 100
        }
        return Lead(
            leadId: text(),
            customerId: text(),
            createdAt: date(),
            type: generator.pick(LeadType.allCases),
            productId: text(),
            productName: text(),
            script: text(),
            propensity: double(),
            estimatedMonthlySaving: generator.chance(50) ? double() : nil,
            riskLevel: generator.pick(RiskLevel.allCases),
            tier: text(),
            reason: text(),
            triggerEventId: text(),
            followUp: Lead.FollowUp(
                channel: generator.pick(Channel.allCases),
                assignee: generator.pick(Assignee.allCases),
                notBefore: date(),
                expiresAt: date()
            )
        )
    }

    static func suppression(_ generator: inout RecordGenerator) -> LeadSuppression {
        LeadSuppression(
            suppressionId: generator.pick(awkward),
            customerId: generator.pick(awkward) + generator.pick(awkward),
            occurredAt: Date(timeIntervalSince1970: Double(generator.int(-62_135_596_800..<253_402_300_799)) / 1.7),
            type: generator.pick(LeadType.allCases),
            reason: generator.pick(SuppressionReason.allCases),
            tier: generator.chance(30) ? nil : generator.pick(awkward),
            triggerEventId: generator.pick(awkward)
        )
    }

    @Test func generatedLeadsEncodeToTheSameBytesAndDecodeBack() throws {
        var generator = RecordGenerator(seed: 0x1EAD)
        for _ in 0..<3000 {
            let lead = Self.lead(&generator)
            Self.check(lead)
            let decoded = try TandemJSON.decode(Lead.self, from: try FastJSON.encode(lead))
            // Dates travel as whole milliseconds.
            #expect(decoded.leadId == lead.leadId && decoded.script == lead.script && decoded.reason == lead.reason)
            #expect(decoded.propensity == lead.propensity)
            #expect(decoded.estimatedMonthlySaving == lead.estimatedMonthlySaving)
            #expect(
                FastJSONWriterMillis.of(decoded.followUp.expiresAt) == FastJSONWriterMillis.of(lead.followUp.expiresAt)
            )
        }
    }

    @Test func generatedSuppressionsEncodeToTheSameBytesAndDecodeBack() throws {
        var generator = RecordGenerator(seed: 0x5099)
        for _ in 0..<3000 {
            let suppression = Self.suppression(&generator)
            Self.check(suppression)
            let decoded = try TandemJSON.decode(LeadSuppression.self, from: try FastJSON.encode(suppression))
            #expect(decoded.suppressionId == suppression.suppressionId && decoded.tier == suppression.tier)
            #expect(decoded.reason == suppression.reason && decoded.type == suppression.type)
        }
    }

    @Test func theServicesOwnLeadsEncodeAlike() {
        let lead = Lead(
            leadId: "ld-0123456789abcdef0123456789abcdef",
            customerId: "C-42",
            createdAt: Date(timeIntervalSince1970: 1_772_409_600.123),
            type: .planFit,
            productId: "PR-55",
            productName: "Plan 55",
            script: "Dear customer, Plan 55 saves you 12.50 a month.",
            propensity: 0.1,
            estimatedMonthlySaving: 12.5,
            riskLevel: .medium,
            tier: "mid",
            reason: "plan_fit: bill 2026-03; saves 92.00 (61 % ≥ leads.planFit.minSavingPercent 10)",
            triggerEventId: "bill:C-42:2026-03",
            followUp: Lead.FollowUp(
                channel: .phone,
                assignee: .outboundTeam,
                notBefore: Date(timeIntervalSince1970: 1_772_496_000.123),
                expiresAt: Date(timeIntervalSince1970: 1_773_619_200.123)
            )
        )
        Self.check(lead)
        var noSaving = lead
        noSaving.estimatedMonthlySaving = nil
        Self.check(noSaving)
        for value in [0, 1, 0.05, 1.0 / 3, 1e-7, 123_456.789] {
            var other = lead
            other.propensity = value
            other.estimatedMonthlySaving = value
            Self.check(other)
        }
    }

    @Test func errorsAreTheReferencesAndComeInDeclarationOrder() {
        var generator = RecordGenerator(seed: 3)
        let base = Self.lead(&generator)
        for bad in [Double.nan, .infinity, -.infinity] {
            var lead = base
            lead.followUp.expiresAt = Date(timeIntervalSince1970: 1e12)
            Self.check(lead)
            lead.followUp.notBefore = Date(timeIntervalSince1970: -1e12)
            Self.check(lead)
            lead.estimatedMonthlySaving = bad
            Self.check(lead)
            lead.propensity = bad
            Self.check(lead)
            lead.createdAt = Date(timeIntervalSince1970: 1e12)
            Self.check(lead)
        }
        var suppression = Self.suppression(&generator)
        suppression.occurredAt = Date(timeIntervalSince1970: -1e12)
        Self.check(suppression)
    }

    /// The reference traps on a non-finite date (`Date.description`); the fast path throws.
    @Test func nonFiniteDatesAreErrorsNotTraps() {
        var generator = RecordGenerator(seed: 4)
        for value in [Double.infinity, -.infinity, .nan] {
            var lead = Self.lead(&generator)
            lead.followUp.notBefore = Date(timeIntervalSince1970: value)
            #expect(throws: ModelError.self) { try FastJSON.encode(lead) }
            var suppression = Self.suppression(&generator)
            suppression.occurredAt = Date(timeIntervalSince1970: value)
            #expect(throws: ModelError.self) { try FastJSON.encode(suppression) }
        }
    }

    @Test func encodingAppendsAndLeavesTheBufferAloneOnError() throws {
        var generator = RecordGenerator(seed: 5)
        let lead = Self.lead(&generator)
        var buffer: [UInt8] = Array("prefix".utf8)
        try FastJSON.encode(lead, into: &buffer)
        #expect(buffer == Array("prefix".utf8) + (try TandemJSON.encode(lead)))
        var bad = lead
        bad.propensity = .nan
        let before = buffer
        #expect(throws: ModelError.self) { try FastJSON.encode(bad, into: &buffer) }
        #expect(buffer == before)
        var suppression = Self.suppression(&generator)
        suppression.occurredAt = Date(timeIntervalSince1970: 1e12)
        #expect(throws: ModelError.self) { try FastJSON.encode(suppression, into: &buffer) }
        #expect(buffer == before)
    }
}

/// Whole milliseconds of a date, as the wire carries them.
enum FastJSONWriterMillis {
    static func of(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
