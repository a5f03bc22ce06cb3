import Foundation
import Kafka
import Logging
import Models
import Simulator
import TestSupport
import Testing

/// The four service executables as separate processes on the embedded broker, fed by the
/// simulator's seeded stream: every raw record is accounted for, the KPIs and leads agree with
/// the inputs, and a run in which each service in turn is killed with SIGKILL mid-stream and
/// restarted ends with the same final KPIs and the same leads as a clean run.
///
/// Kafka orders records within a partition, not across topics: whether the lead service sees an
/// interaction before or after the segment the segmentation service derived from it depends on
/// timing, and so may a decision that reads both. Both runs therefore feed the stream in phases
/// (the round's account events, then the outcomes the marketing team gave by then, then its raw
/// interactions) and hold the segmentation service (SIGSTOP) while the other services read a
/// phase, so a segment always arrives after the records it was derived from. Within that one
/// fixed order the services are deterministic: a difference between the runs can only come from
/// a crash, a restart or a replay.
@Suite("The suite end to end", .serialized, .timeLimit(.minutes(10)))
struct PipelineTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let partitions: Int32 = 4
    static let customers = 300
    static let rounds = 6
    static let recordsPerRound = 800
    /// Two hours ago, on the hour: intake judges "in the future" by the wall clock (so the
    /// simulator's deliberately future records are rejected), and the records that close the
    /// stream's minute and hour windows, 70 minutes after its start, must not be in the future.
    static let start = Date(
        timeIntervalSince1970: ((Date().timeIntervalSince1970 - 2 * 3600) / 3600).rounded(.down) * 3600
    )
    static let services = ["intake", "segmentation", "leads", "kpi"]
    /// One record to produce.
    struct Input: Sendable {
        var topic: TopicSpec
        var key: String
        var value: [UInt8]
        var time: Date
        var isDeliberatelyInvalid = false
    }

    /// The seeded stream: the history, then the live traffic cut into rounds, then one record per
    /// partition 70 minutes after the start (which closes the live traffic's minute and hour windows).
    struct Stream: Sendable {
        var history: [Input] = []
        var rounds: [[Input]] = []
        var closing: [Input] = []
        var catalog: [Product] = []
        var customerIds: Set<String> = []

        var rawInteractions: [Input] {
            (history + rounds.flatMap { $0 } + closing).filter { $0.topic == Topics.interactionsRaw }
        }
    }

    static func stream() -> Stream {
        var generator = TrafficGenerator(
            seed: 2026,
            start: start,
            customers: customers,
            rate: 10,
            invalidShare: 0.01,
            historyMonths: 3
        )
        var stream = Stream(catalog: generator.catalog, customerIds: Set(generator.customerIds))
        func input(_ record: SimulatedRecord) -> Input {
            Input(
                topic: record.topic,
                key: record.key,
                value: record.value,
                time: record.eventTime,
                isDeliberatelyInvalid: record.isDeliberatelyInvalid
            )
        }
        var record = generator.next()
        while record.isHistory {
            stream.history.append(input(record))
            record = generator.next()
        }
        for _ in 0..<rounds {
            var round = [input(record)]
            while round.count < recordsPerRound { round.append(input(generator.next())) }
            stream.rounds.append(round)
            record = generator.next()
        }
        let closingTime = start.addingTimeInterval(70 * 60)
        for partition in 0..<partitions {
            let key = (0...).lazy.map { "closing-\($0)" }.first {
                Murmur2.partition(forKey: Array($0.utf8), partitionCount: partitions) == partition
            }!
            let json =
                #"{"eventId":"closing-\#(partition)","occurredAt":"\#(Timestamp.format(closingTime)!)","channel":"phone","kind":"inquiry","customerId":"\#(key)","answered":true,"waitSeconds":3,"handleSeconds":60,"resolved":true}"#
            stream.closing.append(
                Input(topic: Topics.interactionsRaw, key: key, value: Array(json.utf8), time: closingTime)
            )
            // The KPI service's watermark is the slowest of its inputs' event times, and leads,
            // outcomes and suppressions are sparse: one record on each moves them on too (what
            // the idle timeout does by the wall clock in production, without waiting for it).
            let lead = Lead(
                leadId: "closing-\(partition)",
                customerId: key,
                createdAt: closingTime,
                type: .crossSell,
                productId: "closing",
                productName: "closing",
                script: "closing",
                propensity: 0.1,
                riskLevel: .low,
                tier: "low",
                reason: "closes the stream",
                triggerEventId: "closing-\(partition)",
                followUp: .init(
                    channel: .phone,
                    assignee: .outboundTeam,
                    notBefore: closingTime,
                    expiresAt: closingTime
                )
            )
            let outcome = LeadOutcome(leadId: lead.leadId, customerId: key, at: closingTime, outcome: .contacted)
            let suppression = LeadSuppression(
                suppressionId: "closing-\(partition)",
                customerId: key,
                occurredAt: closingTime,
                type: .crossSell,
                reason: .noConsent,
                triggerEventId: "closing-\(partition)"
            )
            stream.closing += [
                Input(topic: Topics.leads, key: key, value: try! TandemJSON.encode(lead), time: closingTime),
                Input(topic: Topics.leadOutcomes, key: key, value: try! TandemJSON.encode(outcome), time: closingTime),
                Input(
                    topic: Topics.leadSuppressions,
                    key: key,
                    value: try! TandemJSON.encode(suppression),
                    time: closingTime
                ),
            ]
        }
        return stream
    }

    /// Five-minute graces (a phase spans 80 s of event time, and records derived from another
    /// phase's — a lead from a segment change — may be that much older than the latest lead) and
    /// no wall-clock advance of event time: the stream alone closes windows.
    static func rulesFile() throws -> String {
        try writeRulesFile(name: "e2e-rules", graceSeconds: 300, minuteThrottleSeconds: 5)
    }

    /// What a run left on the output topics.
    struct Outcome {
        var interactions: [TopicCollector.Record]
        var leads: [TopicCollector.Record]
        var suppressions: [TopicCollector.Record]
        var deadLetters: [TopicCollector.Record]
        var kpiFinals: [String: [String]]
        var outcomesSent: Int
        var killsDone: [String]
    }

    /// One run of the four services over the stream, on its own topic prefix.
    final class Run: @unchecked Sendable {
        let cluster: EmbeddedKafkaCluster
        let prefix: String
        let rules: String
        var members: [String: GroupMember] = [:]
        let producer: KafkaProducer
        let watermarks: KafkaConsumer
        let groupOffsets: [String: KafkaConsumer]
        let collectors: [String: TopicCollector]

        init(cluster: EmbeddedKafkaCluster, prefix: String, rules: String) throws {
            self.cluster = cluster
            self.prefix = prefix
            self.rules = rules
            for spec in Topics.all { try cluster.createTopic(prefix + spec.name, partitions: Int(partitions)) }
            let bootstrap = ["bootstrap.servers": cluster.bootstrapServers]
            producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrap), logger: quiet)
            watermarks = try KafkaConsumer(configuration: KafkaConfiguration(bootstrap), logger: quiet)
            var groupOffsets: [String: KafkaConsumer] = [:]
            for service in services {
                groupOffsets[service] = try KafkaConsumer(
                    configuration: KafkaConfiguration(bootstrap.merging(["group.id": prefix + service]) { $1 }),
                    logger: quiet
                )
            }
            self.groupOffsets = groupOffsets
            var collectors: [String: TopicCollector] = [:]
            for spec in [Topics.interactions, Topics.leads, Topics.leadSuppressions, Topics.deadLetter, Topics.kpi] {
                collectors[spec.name] = try TopicCollector(
                    cluster: cluster,
                    topic: prefix + spec.name,
                    partitions: partitions
                )
            }
            self.collectors = collectors
        }

        func start(_ service: String) async throws {
            let member = try GroupMember(
                "tandem-\(service)",
                environment: [
                    "TANDEM_TOPIC_PREFIX": prefix, "TANDEM_RULES": rules, "TANDEM_KPI_PARTITIONS": String(partitions),
                    "TANDEM_MAX_BATCH": "200",
                ],
                cluster: cluster,
                group: prefix + service
            )
            members[service] = member
            try await member.waitReady()
        }

        func produce(_ records: some Collection<Input>) async throws {
            guard !records.isEmpty else { return }
            var batch = ProducerBatch(reservingCapacity: records.count)
            for record in records {
                batch.append(
                    topic: prefix + record.topic.name,
                    key: Array(record.key.utf8),
                    value: record.value,
                    timestamp: Int64((record.time.timeIntervalSince1970 * 1000).rounded())
                )
            }
            let delivery = try await producer.send(batch)
            #expect(delivery.allDelivered)
        }

        /// Whether the service's group has committed every record of its inputs.
        func caughtUp(_ service: String) async throws -> Bool {
            let partitionsRead = Topics.inputs[service]!.flatMap { spec in
                (0..<partitions).map { TopicPartition(topic: prefix + spec.name, partition: $0) }
            }
            return try await groupOffsets[service]!.uncommitted(partitionsRead).isEmpty
        }

        /// The records on these topics so far (their partitions' high watermarks, in one request).
        func records(on topics: [TopicSpec]) async throws -> Int64 {
            let ends = try await watermarks.highWatermarks(
                topics.flatMap { spec in
                    (0..<partitions).map { TopicPartition(topic: prefix + spec.name, partition: $0) }
                }
            )
            return ends.values.reduce(0, +)
        }

        /// How far the service got: the records on its changelogs (written once a batch's outputs
        /// are acknowledged) and, for intake, on `cs.interactions`.
        func progress(_ service: String) async throws -> Int64 {
            var specs = Topics.changelogs.filter { $0.name.hasPrefix("cs.\(service).") }
            if service == "intake" { specs.append(Topics.interactions) }
            return try await records(on: specs)
        }

        func waitCaughtUp(_ services: [String]) async throws {
            try await waitUntil("\(services.joined(separator: ", ")) caught up", timeout: .seconds(90)) {
                for service in services where try await !caughtUp(service) { return false }
                return true
            }
        }

        /// Feeds one phase; the segmentation service is held until the others have read it.
        /// With `kill`, that service is killed with SIGKILL once it has processed part of the phase,
        /// the rest is produced while it is down, and it is restarted.
        func phase(_ records: [Input], kill: String? = nil) async throws {
            guard !records.isEmpty else { return }
            members["segmentation"]!.freeze(true)
            if let kill, kill != "segmentation" {
                let before = try await progress(kill)
                try await produce(records.prefix(records.count / 2))
                try await waitUntil("\(kill) under way", timeout: .seconds(60)) {
                    try await progress(kill) > before
                }
                members[kill]!.kill9()
                try await produce(records.dropFirst(records.count / 2))
                try await start(kill)
            } else {
                try await produce(records)
            }
            try await waitCaughtUp(["intake", "leads", "kpi"])
            members["segmentation"]!.freeze(false)
            if kill == "segmentation" {
                let before = try await progress("segmentation")
                try await waitUntil("segmentation under way", timeout: .seconds(60)) {
                    try await progress("segmentation") > before
                }
                members["segmentation"]!.kill9()
                try await start("segmentation")
            }
            try await waitCaughtUp(services)
        }

        /// The whole stream; `kills[round]` is the service killed during that round's interactions.
        func feed(_ stream: Stream, kills: [Int: String]) async throws -> (outcomes: Int, kills: [String]) {
            // The catalog is there before the services start (and read whole before they process
            // anything); a product published while triggers are processed may or may not be seen
            // by them, as in production.
            try await produce(stream.history.filter { $0.topic == Topics.catalog })
            for service in services { try await start(service) }
            let team = MarketingTeam(catalog: stream.catalog, salt: 7)
            try await phase(
                stream.history.filter { $0.topic != Topics.interactionsRaw && $0.topic != Topics.catalog }
            )
            try await phase(stream.history.filter { $0.topic == Topics.interactionsRaw })
            var answered: Set<String> = []
            var pending: [LeadOutcome] = []
            var outcomesSent = 0
            var killed: [String] = []
            for (index, round) in stream.rounds.enumerated() {
                // The marketing team answers the leads so far; what happened by the round's end goes out.
                let published = try await records(on: [Topics.leads])
                try await waitUntil("every lead read") { collectors[Topics.leads.name]!.count == published }
                for record in collectors[Topics.leads.name]!.all {
                    guard let lead = try? TandemJSON.decode(Lead.self, from: record.value),
                        answered.insert(lead.leadId).inserted
                    else { continue }
                    pending += team.outcomes(for: lead)
                }
                pending.sort { ($0.at, $0.leadId, $0.outcome.rawValue) < ($1.at, $1.leadId, $1.outcome.rawValue) }
                let roundEnd = round.last!.time
                let due = pending.prefix { $0.at <= roundEnd }
                let outcomes = try due.map {
                    Input(topic: Topics.leadOutcomes, key: $0.customerId, value: try TandemJSON.encode($0), time: $0.at)
                }
                pending.removeFirst(due.count)
                outcomesSent += outcomes.count
                try await phase(round.filter { $0.topic != Topics.interactionsRaw })
                try await phase(outcomes)
                try await phase(round.filter { $0.topic == Topics.interactionsRaw }, kill: kills[index])
                if let kill = kills[index] { killed.append(kill) }
            }
            try await phase(stream.closing)
            return (outcomesSent, killed)
        }

        func finish(outcomes: Int, kills: [String]) async -> Outcome {
            for member in members.values { member.terminate() }
            let outcome = Outcome(
                interactions: collectors[Topics.interactions.name]!.all,
                leads: collectors[Topics.leads.name]!.all.filter { !$0.key.hasPrefix("closing-") },
                suppressions: collectors[Topics.leadSuppressions.name]!.all.filter { !$0.key.hasPrefix("closing-") },
                deadLetters: collectors[Topics.deadLetter.name]!.all,
                kpiFinals: collectors[Topics.kpi.name]!.finals,
                outcomesSent: outcomes,
                killsDone: kills
            )
            for collector in collectors.values { await collector.stop() }
            for consumer in groupOffsets.values { await consumer.close() }
            await watermarks.close()
            await producer.close()
            return outcome
        }

        /// Stops every service (after a failure too: no process is left behind).
        func stopAll() {
            for member in members.values { member.terminate() }
        }

        /// Waits for the live traffic's hour window to be final, then for a quiet moment: windows
        /// close on the service's once-a-second tick, so the closing records can be read and
        /// committed before the finals they cause exist.
        func settle() async throws {
            let hour = "hour/\(Timestamp.format(PipelineTests.start)!)/overall/all"
            try await waitUntil("the live hour final and cs.kpi quiet", timeout: .seconds(60)) {
                collectors[Topics.kpi.name]!.finals[hour] != nil && collectors[Topics.kpi.name]!.quietFor > .seconds(2)
            }
        }
    }

    static func execute(
        _ stream: Stream,
        cluster: EmbeddedKafkaCluster,
        prefix: String,
        rules: String,
        kills: [Int: String]
    ) async throws -> Outcome {
        let run = try Run(cluster: cluster, prefix: prefix, rules: rules)
        do {
            let (outcomes, killed) = try await run.feed(stream, kills: kills)
            try await run.settle()
            return await run.finish(outcomes: outcomes, kills: killed)
        } catch {
            run.stopAll()
            throw error
        }
    }

    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    static func date(_ value: Any?) -> Date? { (value as? String).flatMap { Timestamp.parse($0) } }

    /// Whether a KPI record's window (`<size>/<start>/<dimension>/<value>`) starts in the live traffic.
    static func isLive(_ key: String) -> Bool {
        let parts = key.split(separator: "/", maxSplits: 2)
        return parts.count == 3 && (Timestamp.parse(String(parts[1])).map { $0 >= start } ?? false)
    }

    static func int(_ value: Any?) -> Int64 { (value as? NSNumber)?.int64Value ?? 0 }

    @Test func everyServiceKilledInTurnChangesNoFinalKPIAndNoLead() async throws {
        let stream = Self.stream()
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        let rules = try Self.rulesFile()

        let clean = try await Self.execute(stream, cluster: cluster, prefix: "clean.", rules: rules, kills: [:])
        let crash = try await Self.execute(
            stream,
            cluster: cluster,
            prefix: "crash.",
            rules: rules,
            kills: [1: "intake", 2: "segmentation", 3: "leads", 4: "kpi"]
        )
        #expect(crash.killsDone == ["intake", "segmentation", "leads", "kpi"])

        for run in [clean, crash] {
            Self.checkAccounting(stream, run)
            Self.checkKPIs(run)
            Self.checkLeads(stream, run)
        }

        // The same interactions, leads and final KPIs, byte for byte.
        let eventIds = { (run: Outcome) in
            Set(run.interactions.compactMap { Self.object($0.value)["eventId"] as? String })
        }
        #expect(eventIds(crash) == eventIds(clean))
        #expect(clean.outcomesSent == crash.outcomesSent)
        let cleanLeads = Set(clean.leads.map(\.value))
        let crashLeads = Set(crash.leads.map(\.value))
        if cleanLeads != crashLeads { Issue.record("\(Self.describeDifference(cleanLeads, crashLeads))") }
        // The windows of the live traffic. The history (three months of bills, replayed in a
        // second) is left out: records derived from it (leads from bills, suppressions from the
        // segment changes those bills caused) reach the KPI service months of event time out of
        // order, far beyond any grace, so which of them are late depends on how far each service
        // had run ahead — as it would in a production backfill.
        let cleanFinals = clean.kpiFinals.filter { Self.isLive($0.key) }
        let crashFinals = crash.kpiFinals.filter { Self.isLive($0.key) }
        #expect(cleanFinals.count >= 100, "only \(cleanFinals.count) final KPI records of the live traffic")
        let finalKeys = Set(cleanFinals.keys).symmetricDifference(crashFinals.keys)
        #expect(
            finalKeys.isEmpty,
            "\(finalKeys.count) windows final in one run only (clean \(cleanFinals.count), kill run \(crashFinals.count)), e.g. \(finalKeys.sorted().prefix(3))"
        )
        let different = cleanFinals.keys.filter { key in
            crashFinals[key].map { Set($0) != Set(cleanFinals[key]!) } ?? false
        }
        #expect(different.isEmpty, "\(different.count) finals differ, e.g. \(different.sorted().prefix(3))")
        #expect(cleanFinals.values.allSatisfy { Set($0).count == 1 })
        print(
            "e2e: \(stream.rawInteractions.count) raw interactions, \(clean.interactions.count) clean out, "
                + "\(cleanLeads.count) leads, \(clean.suppressions.count) suppressions, "
                + "\(clean.outcomesSent) outcomes, \(cleanFinals.count) final KPI records of the live traffic; "
                + "kill run: \(crash.leads.count) lead records, "
                + "\(crashFinals.values.filter { $0.count > 1 }.count) finals published twice (identical)"
        )
    }

    /// What differs between two sets of lead records, briefly: per lead id, the fields that differ.
    static func describeDifference(_ clean: Set<String>, _ crash: Set<String>) -> String {
        let byId = { (records: Set<String>) in
            Dictionary(records.map { (object($0)["leadId"] as? String ?? "", object($0)) }) { first, _ in first }
        }
        let cleanOnly = byId(clean.subtracting(crash))
        let crashOnly = byId(crash.subtracting(clean))
        var lines: [String] = []
        for id in Set(cleanOnly.keys).union(crashOnly.keys).sorted().prefix(4) {
            switch (cleanOnly[id], crashOnly[id]) {
            case (let a?, let b?):
                let fields = a.keys.filter { "\(a[$0] ?? "")" != "\(b[$0] ?? "")" }.sorted()
                lines.append("\(id) differs in \(fields): \(fields.map { "\(a[$0] ?? "") | \(b[$0] ?? "")" })")
            case (let a?, nil):
                lines.append(
                    "\(id) only clean: \(a["type"] ?? "") \(a["triggerEventId"] ?? "") \(a["createdAt"] ?? "")"
                )
            case (nil, let b?):
                lines.append(
                    "\(id) only crash: \(b["type"] ?? "") \(b["triggerEventId"] ?? "") \(b["createdAt"] ?? "")"
                )
            default: break
            }
        }
        return "\(cleanOnly.count) leads only in the clean run, \(crashOnly.count) only in the kill run: "
            + lines.joined(separator: "; ")
    }

    /// Every raw interaction is an output, a counted duplicate or a dead letter, exactly once.
    static func checkAccounting(_ stream: Stream, _ run: Outcome) {
        let raw = stream.rawInteractions
        let valid = raw.filter { !$0.isDeliberatelyInvalid }
        let expectedIds = Set(
            valid.compactMap { object(String(decoding: $0.value, as: UTF8.self))["eventId"] as? String }
        )
        let duplicates = valid.count - expectedIds.count
        let outputIds = run.interactions.compactMap { object($0.value)["eventId"] as? String }
        // A dead letter is known by its source offset: one written again after a crash (the
        // input was processed, not yet committed) is the same dead letter.
        let intakeDeadLetters = Set(
            run.deadLetters.compactMap { record -> String? in
                let fields = object(record.value)
                guard fields["service"] as? String == "intake" else { return nil }
                return "\(int(fields["sourcePartition"]))@\(int(fields["sourceOffset"]))"
            }
        )
        let missing = expectedIds.subtracting(outputIds)
        let unexpected = Set(outputIds).subtracting(expectedIds)
        #expect(
            missing.isEmpty,
            "\(missing.count) event ids missing on cs.interactions, e.g. \(missing.sorted().prefix(3))"
        )
        #expect(unexpected.isEmpty, "\(unexpected.count) unexpected event ids, e.g. \(unexpected.sorted().prefix(3))")
        #expect(outputIds.count == expectedIds.count, "an event id went out twice")
        #expect(intakeDeadLetters.count == raw.count - valid.count)
        #expect(outputIds.count + duplicates + intakeDeadLetters.count == raw.count)
    }

    /// Each final minute window counts exactly the contacts and opinion posts of its minute;
    /// channel cells add up to the overall one; every day's leads are counted.
    static func checkKPIs(_ run: Outcome) {
        var contacts: [Date: Int64] = [:]
        var opinions: [Date: Int64] = [:]
        for record in run.interactions {
            let fields = object(record.value)
            guard let at = date(fields["occurredAt"]), let kind = fields["kind"] as? String else { continue }
            let minute = Date(timeIntervalSince1970: (at.timeIntervalSince1970 / 60).rounded(.down) * 60)
            if kind == "opinion" {
                opinions[minute, default: 0] += 1
            } else if kind != "survey" {
                contacts[minute, default: 0] += 1
            }
        }
        let finals = run.kpiFinals.filter { isLive($0.key) }.compactMapValues { $0.first.map(object) }
        let minutes = finals.filter { $0.key.hasPrefix("minute/") && $0.key.hasSuffix("/overall/all") }
        #expect(minutes.count >= 6, "only \(minutes.count) final minute windows")
        var channelSums: [Date: Int64] = [:]
        for (key, snapshot) in finals where key.hasPrefix("minute/") && key.contains("/channel/") {
            let counts = snapshot["counts"] as? [String: Any]
            channelSums[date(snapshot["start"])!, default: 0] += int(counts?["contacts"])
        }
        for (key, snapshot) in minutes {
            let start = date(snapshot["start"])!
            let counts = snapshot["counts"] as? [String: Any] ?? [:]
            #expect(int(counts["contacts"]) == contacts[start] ?? 0, "\(key): contacts")
            #expect(int(counts["opinion"]) == opinions[start] ?? 0, "\(key): opinion posts")
            #expect(channelSums[start] ?? 0 == contacts[start] ?? 0, "\(key): channels add up")
        }
        var leadsByDay: [Date: Int64] = [:]
        let days = finals.filter { $0.key.hasPrefix("day/") && $0.key.hasSuffix("/overall/all") }
        let leadIds = Set(run.leads.map(\.value))
        for value in leadIds {
            guard let created = date(object(value)["createdAt"]) else { continue }
            for snapshot in days.values
            where date(snapshot["start"])! <= created && created < date(snapshot["end"])! {
                leadsByDay[date(snapshot["start"])!, default: 0] += 1
            }
        }
        for (key, snapshot) in days {
            let counts = snapshot["counts"] as? [String: Any] ?? [:]
            #expect(int(counts["leadsCreated"]) == leadsByDay[date(snapshot["start"])!] ?? 0, "\(key): leads")
        }
    }

    /// Leads go to known customers, once each, for a trigger that happened.
    static func checkLeads(_ stream: Stream, _ run: Outcome) {
        #expect(!run.leads.isEmpty)
        var byId: [String: Set<String>] = [:]
        for record in run.leads {
            let fields = object(record.value)
            byId[fields["leadId"] as? String ?? "", default: []].insert(record.value)
            #expect(stream.customerIds.contains(fields["customerId"] as? String ?? ""))
            #expect(record.key == fields["customerId"] as? String)
        }
        #expect(byId.values.allSatisfy { $0.count == 1 }, "a lead id with two different contents")
        #expect(byId.count == run.leads.count, "a lead published twice")
        let types = Set(run.leads.compactMap { object($0.value)["type"] as? String })
        #expect(types.count >= 2, "lead types: \(types)")
    }
}
