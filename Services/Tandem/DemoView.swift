import Foundation
import Kafka
import Models

/// What the demo has seen on the output topics.
struct DemoState {
    /// The latest snapshot per key of the hour windows by channel, tier and overall.
    var hourKPIs: [String: KPISnapshot] = [:]
    var finals = 0
    var snapshots = 0
    var leadIds = Set<String>()
    var leadsByType: [String: Int] = [:]
    var outcomes: [String: Int] = [:]
    var suppressions: [String: Int] = [:]
    var deadLetters: [String: Int] = [:]
    var tiers: [String: String] = [:]
    var opinion: OpinionReport?
    var alerts = 0
    var lastAlert: String?
    var unreadable = 0

    mutating func ingest(_ record: KafkaRecord) {
        guard let value = record.value else { return }
        do {
            switch record.topic {
            case Topics.kpi.name:
                let snapshot = try TandemJSON.decode(KPISnapshot.self, from: value)
                snapshots += 1
                if snapshot.final { finals += 1 }
                if snapshot.window == .hour, [.overall, .channel, .tier].contains(snapshot.dimension) {
                    hourKPIs[snapshot.key] = snapshot
                }
            case Topics.leads.name:
                let lead = try TandemJSON.decode(Lead.self, from: value)
                if leadIds.insert(lead.leadId).inserted { leadsByType[lead.type.rawValue, default: 0] += 1 }
            case Topics.leadOutcomes.name:
                outcomes[try TandemJSON.decode(LeadOutcome.self, from: value).outcome.rawValue, default: 0] += 1
            case Topics.leadSuppressions.name:
                suppressions[try TandemJSON.decode(LeadSuppression.self, from: value).reason.rawValue, default: 0] += 1
            case Topics.deadLetter.name:
                let letter = try TandemJSON.decode(DeadLetter.self, from: value)
                deadLetters["\(letter.service)/\(letter.reason)", default: 0] += 1
            case Topics.opinionReport.name:
                let report = try TandemJSON.decode(OpinionReport.self, from: value)
                if report.period == "hour", report.start >= (opinion?.start ?? .distantPast) { opinion = report }
            case Topics.alerts.name:
                alerts += 1
                lastAlert = try TandemJSON.decode(KPIAlert.self, from: value).message
            case Topics.segments.name:
                let segment = try TandemJSON.decode(CustomerSegment.self, from: value)
                tiers[segment.customerId] = segment.tier.rawValue
            default:
                break
            }
        } catch {
            unreadable += 1
        }
    }
}

/// The live view and the summary.
struct DemoView {
    let bootstrap: String
    let partitions: Int
    let rate: Int
    let customers: Int
    let seed: Int
    var state = DemoState()
    var elapsed = Duration.zero
    var simulatorExit: String?

    struct ServiceFigures {
        var recordsIn = 0.0
        var recordsOut = 0.0
        var deadLetters = 0.0
        var lag = 0.0
        var inPerSecond = 0.0
        var outPerSecond = 0.0
        var exit: String?
        var sampled: ContinuousClock.Instant?
    }

    var services: [String: ServiceFigures] = [:]
    static let order = ["intake", "segmentation", "leads", "kpi"]

    /// Folds a `/metrics` scrape into the service's figures (nil: not answering).
    mutating func update(service: String, metrics: String?, exit: String?) {
        var figures = services[service] ?? ServiceFigures()
        figures.exit = exit
        if let metrics {
            let now = ContinuousClock.now
            let recordsIn = Self.sum(metrics, "tandem_records_in_total")
            let recordsOut = Self.sum(metrics, "tandem_records_out_total")
            if let last = figures.sampled {
                let seconds = max(0.001, (now - last).seconds)
                figures.inPerSecond = max(0, recordsIn - figures.recordsIn) / seconds
                figures.outPerSecond = max(0, recordsOut - figures.recordsOut) / seconds
            }
            figures.recordsIn = recordsIn
            figures.recordsOut = recordsOut
            figures.deadLetters = Self.sum(metrics, "tandem_dead_letters_total")
            figures.lag = Self.sum(metrics, "tandem_consumer_lag")
            figures.sampled = now
        }
        services[service] = figures
    }

    /// The sum of every sample of a metric (all label sets).
    static func sum(_ metrics: String, _ name: String) -> Double {
        var total = 0.0
        for line in metrics.split(separator: "\n") where line.hasPrefix(name) {
            let rest = line.dropFirst(name.count)
            guard rest.first == "{" || rest.first == " " else { continue }
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { total += value }
        }
        return total
    }

    private static func percent(_ value: Double?) -> String {
        value.map { String(format: "%5.1f%%", $0 * 100) } ?? "    –"
    }

    private static func number(_ value: Double?, _ format: String = "%6.1f") -> String {
        value.map { String(format: format, $0) } ?? "     –"
    }

    private static func clock(_ duration: Duration) -> String {
        let seconds = Int(duration.seconds)
        return String(format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
    }

    private static func tally(_ counts: [String: Int]) -> String {
        counts.isEmpty
            ? "none" : counts.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    func screen() -> [String] {
        var lines: [String] = []
        lines.append(
            "Tandem demo · embedded broker \(bootstrap) · \(partitions) partitions · simulator \(rate) ev/s, \(customers) customers, seed \(seed) · \(Self.clock(elapsed))   Ctrl-C stops"
        )
        lines.append("")
        lines.append("SERVICE        STATUS            IN/s     OUT/s      LAG   IN TOTAL  DEAD LETTERS")
        for name in Self.order {
            let figures = services[name] ?? ServiceFigures()
            let status = figures.exit.map { "DIED (\($0))" } ?? (figures.sampled == nil ? "starting" : "running")
            lines.append(
                "\(name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(status.padding(toLength: 15, withPad: " ", startingAt: 0)) \(String(format: "%7.0f", figures.inPerSecond)) \(String(format: "%9.0f", figures.outPerSecond)) \(String(format: "%8.0f", figures.lag)) \(String(format: "%10.0f", figures.recordsIn)) \(String(format: "%13.0f", figures.deadLetters))"
            )
        }
        if let simulatorExit { lines.append("simulator      stopped (\(simulatorExit))") }
        lines.append("")
        lines.append(contentsOf: kpiTable())
        lines.append("")
        let leads = state.leadIds.count
        lines.append("LEADS        \(leads) created — \(Self.tally(state.leadsByType))")
        lines.append("OUTCOMES     \(Self.tally(state.outcomes))")
        lines.append(
            "SUPPRESSED   \(state.suppressions.values.reduce(0, +)) — \(Self.tally(state.suppressions))"
        )
        lines.append("")
        lines.append(contentsOf: opinionLines())
        lines.append(
            "ALERTS       \(state.alerts)\(state.lastAlert.map { " — latest: \($0)" } ?? "")"
        )
        lines.append("DEAD LETTERS \(Self.tally(state.deadLetters))")
        var tiers: [String: Int] = [:]
        for tier in state.tiers.values { tiers[tier, default: 0] += 1 }
        lines.append("SEGMENTS     \(state.tiers.count) customers segmented — \(Self.tally(tiers))")
        lines.append(
            "KPI RECORDS  \(state.snapshots) snapshots, \(state.finals) final; read them: kcat -b \(bootstrap) -C -t cs.kpi -e"
        )
        return lines
    }

    private func kpiTable() -> [String] {
        guard let hour = state.hourKPIs.values.map(\.start).max() else {
            return ["KPIs         waiting for the first hour-window snapshot…"]
        }
        var lines = [
            "KPIs of the hour from \(Timestamp.format(hour) ?? "") (updates while open)",
            "  DIMENSION                CONTACTS  ANSWER  ABANDON  SERV.LVL   ASA s   AHT s     FCR  CSAT 2BOX    NPS",
        ]
        let current = state.hourKPIs.values.filter { $0.start == hour }
        for dimension in [KPIDimension.overall, .tier, .channel] {
            // Channels: the busiest eight with contacts, so the view fits a terminal.
            let rows = current.filter { $0.dimension == dimension && $0.counts.counters[.contacts] > 0 }
                .sorted { $0.counts.counters[.contacts] > $1.counts.counters[.contacts] }
                .prefix(dimension == .channel ? 8 : 10)
            for snapshot in rows {
                let label = "\(dimension.rawValue)=\(snapshot.value)".padding(toLength: 24, withPad: " ", startingAt: 0)
                let rates = snapshot.kpis
                lines.append(
                    "  \(label) \(String(format: "%8lld", snapshot.counts.counters[.contacts]))  \(Self.percent(rates.answerRate))   \(Self.percent(rates.abandonRate))    \(Self.percent(rates.serviceLevel))  \(Self.number(rates.asaSeconds))  \(Self.number(rates.ahtSeconds))  \(Self.percent(rates.fcr))     \(Self.percent(rates.csatTop2Box))  \(Self.number(rates.nps))"
                )
            }
        }
        return lines
    }

    private func opinionLines() -> [String] {
        guard let report = state.opinion else { return ["OPINION      waiting for the first hourly report…"] }
        let voices = report.brands.sorted { $0.shareOfVoice > $1.shareOfVoice }.map {
            "\($0.brand) \(String(format: "%.0f%%", $0.shareOfVoice * 100))"
        }
        return [
            "OPINION      share of voice (hour from \(Timestamp.format(report.start) ?? "")): \(voices.joined(separator: ", "))",
            "             \(report.summary)",
        ]
    }

    func plainLine() -> String {
        let figures = Self.order.map { name -> String in
            let service = services[name] ?? ServiceFigures()
            return
                "\(name) \(service.exit.map { "DIED(\($0))" } ?? String(format: "%.0f/s lag %.0f", service.inPerSecond, service.lag))"
        }
        return
            "[\(Self.clock(elapsed))] \(figures.joined(separator: " · ")) · leads \(state.leadIds.count) · suppressed \(state.suppressions.values.reduce(0, +)) · KPI finals \(state.finals)"
    }

    func summary(services children: [Child], logs: URL) -> [String] {
        var lines = ["", "== Tandem demo summary after \(Self.clock(elapsed))"]
        for child in children {
            let figures = services[child.name] ?? ServiceFigures()
            let verdict = child.exitStatus == 0 ? "stopped cleanly" : "DIED or failed to stop (\(child.describeExit))"
            lines.append(
                "\(child.name.padding(toLength: 13, withPad: " ", startingAt: 0)) \(verdict); \(String(format: "%.0f", figures.recordsIn)) records in, \(String(format: "%.0f", figures.recordsOut)) out, \(String(format: "%.0f", figures.deadLetters)) dead letters — log \(child.log.path)"
            )
        }
        lines.append(
            "leads \(state.leadIds.count) (\(Self.tally(state.leadsByType))); suppressed \(Self.tally(state.suppressions))"
        )
        lines.append("KPI snapshots \(state.snapshots), of which final \(state.finals); alerts \(state.alerts)")
        lines.append("dead letters \(Self.tally(state.deadLetters))")
        lines.append("")
        lines.append("What next:")
        lines.append(
            "  • the topics while a demo runs: kcat -b <bootstrap> -C -t cs.kpi (cs.leads, cs.segments, cs.opinion-report, cs.alerts, cs.deadletter)"
        )
        lines.append(
            "  • a standing broker for your own clients: tandem dev-broker (prints its bootstrap); tandem simulate --brokers <it>"
        )
        lines.append(
            "  • the services against a real cluster: KAFKA_BROKERS=host:9092 tandem-intake (README: Configuration; docker-compose.yml)"
        )
        lines.append(
            "  • the webhook while a demo runs: curl -H 'Authorization: Bearer demo-token' --data-binary @records.ndjson localhost:8081/v1/interactions"
        )
        lines.append("  • logs of this run: \(logs.path)")
        return lines
    }

    func summaryJSON(services children: [Child]) throws -> String {
        var object: [String: Any] = [
            "seconds": Int(elapsed.seconds), "leads": state.leadIds.count, "kpiSnapshots": state.snapshots,
            "kpiFinals": state.finals, "alerts": state.alerts,
            "suppressed": state.suppressions.values.reduce(0, +),
            "deadLetters": state.deadLetters.values.reduce(0, +),
        ]
        var perService: [String: Any] = [:]
        for child in children {
            let figures = services[child.name] ?? ServiceFigures()
            perService[child.name] = [
                "recordsIn": figures.recordsIn, "recordsOut": figures.recordsOut, "exit": child.describeExit,
            ]
        }
        object["services"] = perService
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
