import Foundation
import Models
import Testing

/// Real encoder output against the published JSON Schemas, checked by a real validator
/// (Python `jsonschema`, draft 2020-12, date-time format checking on).
@Suite("JSON Schemas")
struct SchemaTests {
    /// The repository root, from this file's path (Tests/ModelsTests/SchemaTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let schemas = root.appendingPathComponent("schemas")

    struct Sample {
        var name: String
        var schema: String
        var json: [UInt8]
        var valid: Bool
    }

    static func samples() throws -> [Sample] {
        var samples: [Sample] = []
        func add(_ name: String, _ schema: String, _ value: some Encodable) throws {
            samples.append(Sample(name: name, schema: schema, json: try TandemJSON.encode(value), valid: true))
        }
        func bad(_ name: String, _ schema: String, _ json: String) {
            samples.append(Sample(name: name, schema: schema, json: Array(json.utf8), valid: false))
        }
        func fixtureRecord<T: Codable>(_ type: T.Type, _ name: String) throws -> T {
            try TandemJSON.decode(type, from: try fixture(name))
        }

        // Every record type, from the fixtures and built in code, through the real encoder.
        for name in ["raw-interaction-full", "raw-interaction-opinion", "raw-interaction-odd-numbers"] {
            try add(name, "raw-interaction", try fixtureRecord(RawInteraction.self, name))
        }
        try add("raw-minimal", "raw-interaction", validRaw())
        try add("interaction-fixture", "interaction", try fixtureRecord(Interaction.self, "interaction"))
        for channel in Channel.allCases {
            let interaction = Interaction(
                eventId: "e-\(channel.rawValue)",
                occurredAt: utc(2026, 11, 25, 8, 0),
                receivedAt: utc(2026, 11, 25, 8, 0, 0, ms: 7),
                channel: channel,
                kind: .opinion,
                sentiment: -1,
                reach: 0
            )
            try add("interaction-\(channel.rawValue)", "interaction", interaction)
        }
        try add(
            "interaction-normalised",
            "interaction",
            try Interaction(
                normalizing: try fixtureRecord(RawInteraction.self, "raw-interaction-full"),
                receivedAt: now
            )
        )
        for name in ["account-profile", "account-bill", "account-purchase"] {
            try add(name, "account-event", try fixtureRecord(AccountEvent.self, name))
        }
        try add("profile-minimal", "account-event", AccountEvent.profile(.init(customerId: "c", at: now)))
        try add("product", "product", try fixtureRecord(Product.self, "product"))
        try add(
            "product-minimal",
            "product",
            Product(productId: "p", name: "n", family: "device", monthlyFee: 0, availableFrom: now)
        )
        try add("lead", "lead", try fixtureRecord(Lead.self, "lead"))
        try add("lead-outcome", "lead-outcome", try fixtureRecord(LeadOutcome.self, "lead-outcome"))
        for outcome in OutcomeKind.allCases {
            try add(
                "outcome-\(outcome.rawValue)",
                "lead-outcome",
                LeadOutcome(leadId: "l", customerId: "c", at: now, outcome: outcome)
            )
        }
        for reason in SuppressionReason.allCases {
            let suppression = LeadSuppression(
                suppressionId: "s-\(reason.rawValue)",
                customerId: "c",
                occurredAt: now,
                type: .crossSell,
                reason: reason,
                tier: reason == .noConsent ? nil : "mid",
                triggerEventId: "e"
            )
            try add("suppression-\(reason.rawValue)", "lead-suppression", suppression)
        }
        try add("segment", "segment", CustomerSegmentTests.sample())
        var firstSegment = CustomerSegmentTests.sample()
        firstSegment.arpu = nil
        firstSegment.rfm = nil
        firstSegment.region = nil
        try add("segment-without-bills", "segment", firstSegment)
        try add("dead-letter-fixture", "dead-letter", try fixtureRecord(DeadLetter.self, "dead-letter-base64"))
        let deadLetter = DeadLetter(
            service: "leads",
            reason: "invalid",
            message: "propensity: must be between 0 and 1",
            sourceTopic: "cs.interactions",
            sourcePartition: 0,
            sourceOffset: 0,
            originalKey: nil,
            originalPayload: [0xFE],
            at: now
        )
        try add("dead-letter-binary", "dead-letter", deadLetter)

        // Deliberately broken records the schemas must reject.
        let time = #""occurredAt":"2026-11-25T08:00:00Z""#
        bad(
            "raw-missing-eventId",
            "raw-interaction",
            #"{\#(time),"channel":"phone","kind":"inquiry","customerId":"c"}"#
        )
        bad(
            "raw-csat-9",
            "raw-interaction",
            #"{"eventId":"e",\#(time),"channel":"phone","kind":"survey","customerId":"c","csat":9}"#
        )
        bad("raw-no-customer", "raw-interaction", #"{"eventId":"e",\#(time),"channel":"phone","kind":"inquiry"}"#)
        bad(
            "raw-bad-date",
            "raw-interaction",
            #"{"eventId":"e","occurredAt":"2026-11-25 08:00","channel":"phone","kind":"opinion"}"#
        )
        bad(
            "raw-bad-kind",
            "raw-interaction",
            #"{"eventId":"e",\#(time),"channel":"phone","kind":"praise","customerId":"c"}"#
        )
        bad(
            "raw-long-eventId",
            "raw-interaction",
            #"{"eventId":"\#(String(repeating: "x", count: 129))",\#(time),"channel":"phone","kind":"opinion"}"#
        )
        bad(
            "raw-sentiment",
            "raw-interaction",
            #"{"eventId":"e",\#(time),"channel":"phone","kind":"opinion","sentiment":-1.5}"#
        )
        bad("raw-array", "raw-interaction", "[]")
        let interaction =
            #""eventId":"e","occurredAt":"2026-11-25T08:00:00.000Z","receivedAt":"2026-11-25T08:00:00.000Z","kind":"opinion""#
        bad(
            "interaction-alias-channel",
            "interaction",
            #"{\#(interaction),"channel":"微信","channelGroup":"contact","escalation":false}"#
        )
        bad(
            "interaction-wrong-group",
            "interaction",
            #"{\#(interaction),"channel":"weibo","channelGroup":"contact","escalation":false}"#
        )
        bad(
            "interaction-not-escalated",
            "interaction",
            #"{\#(interaction),"channel":"regulator","channelGroup":"offline_opinion","escalation":false}"#
        )
        bad(
            "interaction-no-millis",
            "interaction",
            #"{"eventId":"e","occurredAt":"2026-11-25T08:00:00Z","receivedAt":"2026-11-25T08:00:00.000Z","kind":"opinion","channel":"tv","channelGroup":"offline_opinion","escalation":false}"#
        )
        bad("account-unknown-type", "account-event", #"{"type":"refund","customerId":"c","at":"2026-11-25T08:00:00Z"}"#)
        bad(
            "account-bill-period",
            "account-event",
            #"{"type":"bill","customerId":"c","at":"2026-11-25T08:00:00Z","period":"2026-13","amount":1}"#
        )
        bad(
            "account-credit-101",
            "account-event",
            #"{"type":"profile","customerId":"c","at":"2026-11-25T08:00:00Z","creditScore":101}"#
        )
        bad(
            "product-negative-fee",
            "product",
            #"{"productId":"p","name":"n","family":"plan","monthlyFee":-1,"availableFrom":"2026-01-01T00:00:00Z"}"#
        )
        bad(
            "lead-propensity",
            "lead",
            String(decoding: try fixture("lead"), as: UTF8.self).replacingOccurrences(of: "0.35", with: "1.35")
        )
        bad(
            "outcome-unknown",
            "lead-outcome",
            #"{"leadId":"l","customerId":"c","at":"2026-11-25T08:00:00Z","outcome":"maybe"}"#
        )
        let segment = String(decoding: try TandemJSON.encode(CustomerSegmentTests.sample()), as: UTF8.self)
        bad(
            "segment-tier-gold",
            "segment",
            segment.replacingOccurrences(of: #""tier":"high""#, with: #""tier":"gold""#)
        )
        bad(
            "segment-rfm-6",
            "segment",
            segment.replacingOccurrences(of: #""recency":5"#, with: #""recency":6"#)
        )
        bad(
            "segment-unknown-change",
            "segment",
            segment.replacingOccurrences(of: #""changed":["tier""#, with: #""changed":["mood""#)
        )
        // KPI records: a snapshot with every counter set and empty denominators (null KPIs), a report, an alert.
        var counters = KPICounters()
        for field in KPICounters.Field.allCases { counters[field] = Int64(field.rawValue) }
        counters.tallies["suppressed:frequency_cap"] = 2
        let definitions = KPIDefinitions(
            shortAbandonSeconds: 5,
            serviceLevelSeconds: 20,
            repeatContactDays: 7,
            timeZone: "Asia/Shanghai",
            graceSeconds: 300,
            topTopics: 10
        )
        var rates = KPIRates()
        rates.answerRate = 0.75
        rates.nps = -12.5
        try add(
            "kpi-snapshot",
            "kpi",
            KPISnapshot(
                window: .minute,
                start: now,
                end: now.addingTimeInterval(60),
                dimension: .channel,
                value: "phone",
                final: true,
                counts: KPICounts(counters),
                kpis: rates,
                definitions: definitions
            )
        )
        try add(
            "kpi-empty",
            "kpi",
            KPISnapshot(
                window: .day,
                start: now,
                end: now.addingTimeInterval(86_400),
                dimension: .overall,
                value: "all",
                final: false,
                counts: KPICounts(KPICounters()),
                kpis: KPIRates(),
                definitions: definitions
            )
        )
        bad(
            "kpi-nan",
            "kpi",
            String(decoding: try TandemJSON.encode(KPIRates()), as: UTF8.self)
        )
        let own = OpinionReport.Mentions(mentions: 5, positive: 1, neutral: 1, negative: 3)
        try add(
            "opinion-report",
            "opinion-report",
            OpinionReport(
                period: "hour",
                start: now,
                end: now.addingTimeInterval(3600),
                platforms: [.init(platform: "weibo", brands: [.init(brand: "own", mentions: own)])],
                brands: [.init(brand: "own", mentions: own, shareOfVoice: 1)],
                campaigns: [
                    .init(campaignId: "double11", mentions: .init(mentions: 0, positive: 0, neutral: 0, negative: 0))
                ],
                topNegativeTopics: [.init(topic: "network", count: 3)],
                summary: "5 public mentions.",
                neutralBand: 0.2
            )
        )
        try add(
            "alert",
            "alert",
            KPIAlert(
                alertId: "complaint_spike/topic/billing/2026-11-25T08:00:00.000Z",
                kind: "complaint_spike",
                subject: "topic",
                value: "billing",
                hourStart: now,
                hourEnd: now.addingTimeInterval(3600),
                count: 12,
                trailingMean: 2,
                trailingHours: 24,
                factor: 3,
                minimumCount: 10,
                message: "12 complaints"
            )
        )
        bad(
            "dead-letter-key-without-encoding",
            "dead-letter",
            #"{"service":"s","reason":"r","message":"m","sourceTopic":"t","sourcePartition":0,"sourceOffset":0,"key":"k","payloadEncoding":"utf8","at":"2026-11-25T08:00:00.000Z"}"#
        )
        return samples
    }

    @Test(.timeLimit(.minutes(1)))
    func everySampleAgainstItsSchema() throws {
        let samples = try Self.samples()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tandem-schemas-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var manifest: [[String: Any]] = []
        for (index, sample) in samples.enumerated() {
            let file = directory.appendingPathComponent("\(index)-\(sample.name).json")
            try Data(sample.json).write(to: file)
            manifest.append(["name": sample.name, "schema": sample.schema, "file": file.path, "valid": sample.valid])
        }
        let manifestFile = directory.appendingPathComponent("manifest.json")
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestFile)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.schemas.appendingPathComponent("validate.py").path,
            Self.schemas.path, manifestFile.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "validator output:\n\(text)")
        let schemaCount = try Self.schemaFileNames().count
        #expect(
            text.contains("ok: \(schemaCount) schemas, \(samples.count) samples"),
            "validator output:\n\(text)"
        )
    }

    static func schemaFileNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: schemas.path).filter { $0.hasSuffix(".schema.json") }
            .sorted()
    }

    /// Every schema file is exercised by samples, and every sample names a schema that exists.
    @Test func everyRecordHasItsSchemaAndEverySchemaItsSamples() throws {
        let files = Set(try Self.schemaFileNames())
        let sampled = Set(try Self.samples().map { "\($0.schema).schema.json" })
        #expect(files == sampled)
        #expect(files.isSuperset(of: ["raw-interaction.schema.json", "interaction.schema.json", "lead.schema.json"]))
    }

    private func schema(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.schemas.appendingPathComponent("\(name).schema.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func enumValues(_ object: [String: Any], _ path: String...) -> Set<String> {
        var node: Any? = object
        for key in path { node = (node as? [String: Any])?[key] }
        return Set(((node as? [String: Any])?["enum"] as? [String]) ?? [])
    }

    @Test func schemaEnumsMatchTheSwiftEnums() throws {
        let interaction = try schema("interaction")
        #expect(enumValues(interaction, "properties", "channel") == Set(Channel.allCases.map(\.rawValue)))
        #expect(enumValues(interaction, "properties", "channelGroup") == Set(ChannelGroup.allCases.map(\.rawValue)))
        #expect(enumValues(interaction, "properties", "kind") == Set(InteractionKind.allCases.map(\.rawValue)))
        #expect(enumValues(interaction, "properties", "department") == Set(Department.allCases.map(\.rawValue)))
        let raw = try schema("raw-interaction")
        #expect(enumValues(raw, "properties", "kind") == Set(InteractionKind.allCases.map(\.rawValue)))
        #expect(enumValues(raw, "properties", "department") == Set(Department.allCases.map(\.rawValue)))
        let lead = try schema("lead")
        #expect(enumValues(lead, "properties", "type") == Set(LeadType.allCases.map(\.rawValue)))
        #expect(enumValues(lead, "properties", "riskLevel") == Set(RiskLevel.allCases.map(\.rawValue)))
        #expect(
            enumValues(lead, "properties", "followUp", "properties", "channel") == Set(Channel.allCases.map(\.rawValue))
        )
        #expect(
            enumValues(lead, "properties", "followUp", "properties", "assignee")
                == Set(Assignee.allCases.map(\.rawValue))
        )
        #expect(
            enumValues(try schema("lead-outcome"), "properties", "outcome") == Set(OutcomeKind.allCases.map(\.rawValue))
        )
        #expect(
            enumValues(try schema("lead-suppression"), "properties", "reason")
                == Set(SuppressionReason.allCases.map(\.rawValue))
        )
        #expect(
            enumValues(try schema("lead-suppression"), "properties", "type") == Set(LeadType.allCases.map(\.rawValue))
        )
        #expect(
            enumValues(try schema("dead-letter"), "properties", "payloadEncoding")
                == Set(DeadLetter.Encoding.allCases.map(\.rawValue))
        )
        let segment = try schema("segment")
        #expect(enumValues(segment, "properties", "tier") == Set(Rules.Tier.allCases.map(\.rawValue)))
        #expect(enumValues(segment, "properties", "churnRisk") == Set(Rules.Level.allCases.map(\.rawValue)))
        #expect(enumValues(segment, "properties", "activity") == Set(ActivityState.allCases.map(\.rawValue)))
        #expect(
            enumValues(try schema("account-event"), "properties", "type")
                == Set(AccountEvent.EventType.allCases.map(\.rawValue))
        )
    }

    @Test func schemasDeclareDraft2020AndAllowUnknownFields() throws {
        for name in try Self.schemaFileNames().map({ String($0.dropLast(".schema.json".count)) }) {
            let s = try schema(name)
            #expect(s["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
            #expect(s["$id"] as? String == "https://tandem.example/schemas/\(name).schema.json")
            #expect(s["additionalProperties"] as? Bool == true, "\(name)")
            #expect(s["title"] is String && s["description"] is String)
        }
    }
}
