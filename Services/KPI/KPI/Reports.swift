public import Foundation
public import Models

/// KPI records, the opinion report and alerts from merged counters: pure functions.
public struct Reports: Sendable {
    public let rules: Rules.KPI

    public init(rules: Rules.KPI) {
        self.rules = rules
    }

    func window(_ size: KPIWindowSize) -> Rules.KPI.Window {
        switch size {
        case .minute: rules.windows.minute
        case .hour: rules.windows.hour
        case .day: rules.windows.day
        }
    }

    /// The definitions a window's records state.
    public func definitions(_ size: KPIWindowSize) -> KPIDefinitions {
        KPIDefinitions(
            shortAbandonSeconds: rules.shortAbandonSeconds,
            serviceLevelSeconds: rules.serviceLevelSeconds,
            repeatContactDays: rules.repeatContactDays,
            timeZone: rules.timeZone,
            graceSeconds: window(size).graceSeconds,
            topTopics: rules.topTopics
        )
    }

    /// The KPI records of a window, one per dimension value, ordered by dimension and value. The
    /// topic dimension keeps the ``Rules/KPI/topTopics`` topics with the most contacts (ties by name).
    public func snapshots(
        _ window: WindowRef,
        cells: [KPIDimension: [String: KPICounters]],
        final: Bool
    ) -> [KPISnapshot] {
        let definitions = definitions(window.size)
        var records: [KPISnapshot] = []
        for dimension in KPIDimension.allCases {
            guard var values = cells[dimension] else { continue }
            if dimension == .topic, values.count > rules.topTopics {
                let kept = values.sorted {
                    ($0.value[.contacts], $1.key) > ($1.value[.contacts], $0.key)
                }.prefix(rules.topTopics)
                values = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
            }
            for (value, counters) in values.sorted(by: { $0.key < $1.key }) {
                var published = counters
                // Only suppression tallies are published; the opinion tallies feed the report.
                published.tallies = counters.tallies.filter { $0.key.hasPrefix(KPICounts.suppressionPrefix) }
                records.append(
                    KPISnapshot(
                        window: window.size,
                        start: Self.date(window.start),
                        end: Self.date(window.end),
                        dimension: dimension,
                        value: value,
                        final: final,
                        counts: KPICounts(published),
                        kpis: KPIFormulas.rates(counters),
                        definitions: definitions
                    )
                )
            }
        }
        return records
    }

    static func date(_ millis: Int64) -> Date { Timestamp.date(millisecondsSince1970: millis) }

    // MARK: Opinion report

    /// The opinion report of a period from its summed hour tallies.
    ///
    /// - Parameters:
    ///   - period: `hour` or `rolling24h`.
    public func opinionReport(period: String, start: Int64, end: Int64, tallies: [String: Int64]) -> OpinionReport {
        var byPlatform: [String: [String: [String: Int64]]] = [:]
        var byBrand: [String: [String: Int64]] = [:]
        var byCampaign: [String: [String: Int64]] = [:]
        var negativeTopics: [String: Int64] = [:]
        for (key, count) in tallies {
            if key.hasPrefix(Tally.mention) {
                let parts = key.dropFirst(Tally.mention.count).split(separator: "|", omittingEmptySubsequences: false)
                guard parts.count == 3 else { continue }
                byPlatform[String(parts[0]), default: [:]][String(parts[1]), default: [:]][
                    String(parts[2]),
                    default: 0
                ] +=
                    count
                byBrand[String(parts[1]), default: [:]][String(parts[2]), default: 0] += count
            } else if key.hasPrefix(Tally.campaign) {
                let rest = key.dropFirst(Tally.campaign.count)
                guard let bar = rest.lastIndex(of: "|") else { continue }
                byCampaign[String(rest[..<bar]), default: [:]][String(rest[rest.index(after: bar)...]), default: 0] +=
                    count
            } else if key.hasPrefix(Tally.negativeTopic) {
                negativeTopics[String(key.dropFirst(Tally.negativeTopic.count)), default: 0] += count
            }
        }
        func mentions(_ classes: [String: Int64]) -> OpinionReport.Mentions {
            let positive = classes["positive"] ?? 0
            let neutral = classes["neutral"] ?? 0
            let negative = classes["negative"] ?? 0
            return OpinionReport.Mentions(
                mentions: positive + neutral + negative,
                positive: positive,
                neutral: neutral,
                negative: negative
            )
        }
        let platforms = byPlatform.sorted { $0.key < $1.key }.map { platform, brands in
            OpinionReport.Platform(
                platform: platform,
                brands: brands.sorted { $0.key < $1.key }.map {
                    OpinionReport.BrandMentions(brand: $0.key, mentions: mentions($0.value))
                }
            )
        }
        let total = byBrand.values.reduce(Int64(0)) { $0 + mentions($1).mentions }
        let brands = byBrand.sorted { $0.key < $1.key }.map { brand, classes in
            let counted = mentions(classes)
            return OpinionReport.Brand(
                brand: brand,
                mentions: counted,
                shareOfVoice: total == 0 ? 0 : Double(counted.mentions) / Double(total)
            )
        }
        let campaigns = byCampaign.sorted { $0.key < $1.key }.map {
            OpinionReport.Campaign(campaignId: $0.key, mentions: mentions($0.value))
        }
        let topNegative = negativeTopics.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            .prefix(rules.opinion.topNegativeTopics)
            .map { OpinionReport.TopicCount(topic: $0.key, count: $0.value) }
        let summary = Self.summary(
            start: start,
            end: end,
            total: total,
            brands: brands,
            topNegative: Array(topNegative)
        )
        return OpinionReport(
            period: period,
            start: Self.date(start),
            end: Self.date(end),
            platforms: platforms,
            brands: brands,
            campaigns: campaigns,
            topNegativeTopics: Array(topNegative),
            summary: summary,
            neutralBand: rules.opinion.neutralBand
        )
    }

    /// One or two sentences a manager reads on a phone.
    static func summary(
        start: Int64,
        end: Int64,
        total: Int64,
        brands: [OpinionReport.Brand],
        topNegative: [OpinionReport.TopicCount]
    ) -> String {
        let from = Timestamp.format(date(start)) ?? ""
        let to = Timestamp.format(date(end)) ?? ""
        guard total > 0 else { return "\(from) – \(to): no public mentions." }
        var text = "\(from) – \(to): \(total) public mentions."
        if let own = brands.first(where: { $0.brand == "own" }) {
            let net = own.mentions.netSentiment.map { String(format: "%+.2f", $0) } ?? "n/a"
            text +=
                " Us: \(own.mentions.mentions) (share of voice \(percent(own.shareOfVoice))), net sentiment \(net)"
                + " (\(own.mentions.positive) positive, \(own.mentions.neutral) neutral, \(own.mentions.negative) negative)."
        } else {
            text += " No mention of us."
        }
        let competitors = brands.filter { $0.brand != "own" && $0.brand != "unknown" }
            .sorted { ($0.mentions.mentions, $1.brand) > ($1.mentions.mentions, $0.brand) }
        if !competitors.isEmpty {
            text +=
                " Competitors: "
                + competitors.map { "\($0.brand) \($0.mentions.mentions) (\(percent($0.shareOfVoice)))" }
                .joined(separator: ", ") + "."
        }
        if let worst = topNegative.first {
            text += " Most negative topic: \(worst.topic) (\(worst.count))."
        }
        return text
    }

    static func percent(_ share: Double) -> String { String(format: "%.1f %%", share * 100) }

    // MARK: Alerts

    /// Spikes in the hour `[start, end)`: complaints on a topic or campaign, or our negative public
    /// mentions on a topic or campaign, above ``Rules/KPI/Alerts/factor`` × the trailing hourly
    /// mean and at least ``Rules/KPI/Alerts/minimumCount``.
    ///
    /// - Parameters:
    ///   - history: earlier hours' tallies by hour start; hours missing count as zero.
    public func alerts(
        start: Int64,
        end: Int64,
        tallies: [String: Int64],
        history: [Int64: [String: Int64]]
    ) -> [KPIAlert] {
        let rule = rules.alerts
        let trailingStart = start - Int64(rule.trailingHours) * 3_600_000
        let kinds: [(prefix: String, kind: String, subject: String)] = [
            (Tally.complaintTopic, "complaint_spike", "topic"),
            (Tally.complaintCampaign, "complaint_spike", "campaign"),
            (Tally.negativeTopic, "negative_mention_spike", "topic"),
            (Tally.negativeCampaign, "negative_mention_spike", "campaign"),
        ]
        var alerts: [KPIAlert] = []
        for (prefix, kind, subject) in kinds {
            for (key, count) in tallies.sorted(by: { $0.key < $1.key }) where key.hasPrefix(prefix) {
                guard count >= rule.minimumCount else { continue }
                var trailing: Int64 = 0
                for (hour, earlier) in history where hour >= trailingStart && hour < start {
                    trailing += earlier[key] ?? 0
                }
                let mean = Double(trailing) / Double(rule.trailingHours)
                guard Double(count) > rule.factor * mean else { continue }
                let value = String(key.dropFirst(prefix.count))
                let what = kind == "complaint_spike" ? "complaints" : "negative public mentions"
                alerts.append(
                    KPIAlert(
                        alertId: "\(kind)/\(subject)/\(value)/\(Timestamp.format(Self.date(start)) ?? "")",
                        kind: kind,
                        subject: subject,
                        value: value,
                        hourStart: Self.date(start),
                        hourEnd: Self.date(end),
                        count: count,
                        trailingMean: mean,
                        trailingHours: rule.trailingHours,
                        factor: rule.factor,
                        minimumCount: rule.minimumCount,
                        message:
                            "\(count) \(what) on \(subject) \(value) in the hour from "
                            + "\(Timestamp.format(Self.date(start)) ?? ""), more than \(String(format: "%g", rule.factor)) × "
                            + "the trailing \(rule.trailingHours)-hour mean of \(String(format: "%.2f", mean))"
                    )
                )
            }
        }
        return alerts
    }
}
