import Foundation
import KPI
import Kafka
import Models
import Testing

/// The opinion report and the spike alerts against hand-computed numbers.
@Suite("opinion report and alerts")
struct ReportTests {
    /// Hour 08:00–09:00 on the public channels:
    /// - weibo, us, sentiment −0.5, topic network, campaign double11: 3 posts (negative);
    /// - weibo, us, +0.5: 1 (positive);
    /// - weibo, rivalco, +0.1: 2 (neutral: within ±0.2);
    /// - zhihu, us, no sentiment: 1 (neutral);
    /// - zhihu, rivalco, −0.9: 2 (negative).
    /// 9 mentions: us 5 (1 / 1 / 3, net (1 − 3) / 5 = −0.4, share 5/9), rivalco 4 (0 / 2 / 2, net −0.5, share 4/9).
    @Test func hourlyAndRollingOpinionReportFromThePipeline() throws {
        let harness = Harness(wall: ms(base))
        let posts: [(String, String, Double?, String, Int)] = [
            ("weibo", "own", -0.5, #","topic":"network","campaignId":"double11""#, 3),
            ("weibo", "own", 0.5, "", 1),
            ("weibo", "rivalco", 0.1, "", 2),
            ("zhihu", "own", nil, "", 1),
            ("zhihu", "rivalco", -0.9, "", 2),
        ]
        var id = 0
        for (platform, brand, sentiment, extra, count) in posts {
            for _ in 0..<count {
                id += 1
                let sentimentField = sentiment.map { #","sentiment":\#($0)"# } ?? ""
                harness.send(
                    "cs.interactions",
                    interaction(
                        "p\(id)",
                        at: base.addingTimeInterval(Double(id * 60)),
                        channel: platform,
                        kind: "opinion",
                        customer: nil,
                        extra: #","brand":"\#(brand)""# + sentimentField + extra
                    )
                )
            }
        }
        // 10:00:01 is past 09:00 + 1 h of grace.
        harness.send("cs.interactions", interaction("later", at: base.addingTimeInterval(7201)))
        harness.tick()
        let reports = try harness.records(OpinionReport.self, topic: "cs.opinion-report")
        let hour = try #require(reports.first { $0.period == "hour" })
        #expect(hour.start == base && hour.end == base.addingTimeInterval(3600))
        let own = try #require(hour.brands.first { $0.brand == "own" })
        #expect(own.mentions == OpinionReport.Mentions(mentions: 5, positive: 1, neutral: 1, negative: 3))
        #expect(own.mentions.netSentiment == -0.4)
        #expect(own.shareOfVoice == 5.0 / 9)
        let rival = try #require(hour.brands.first { $0.brand == "rivalco" })
        #expect(rival.mentions.netSentiment == -0.5)
        #expect(rival.shareOfVoice == 4.0 / 9)
        #expect(hour.platforms.map(\.platform) == ["weibo", "zhihu"])
        #expect(hour.platforms[0].brands.map(\.brand) == ["own", "rivalco"])
        #expect(hour.platforms[0].brands[0].mentions.mentions == 4)
        #expect(
            hour.campaigns == [
                OpinionReport.Campaign(
                    campaignId: "double11",
                    mentions: .init(mentions: 3, positive: 0, neutral: 0, negative: 3)
                )
            ]
        )
        #expect(hour.topNegativeTopics == [OpinionReport.TopicCount(topic: "network", count: 3)])
        #expect(
            hour.summary
                == "2026-11-25T08:00:00.000Z – 2026-11-25T09:00:00.000Z: 9 public mentions. Us: 5 (share of voice 55.6 %), "
                + "net sentiment -0.40 (1 positive, 1 neutral, 3 negative). Competitors: rivalco 4 (44.4 %). "
                + "Most negative topic: network (3)."
        )
        let rolling = try #require(reports.first { $0.period == "rolling24h" })
        #expect(rolling.end == base.addingTimeInterval(3600))
        #expect(rolling.start == base.addingTimeInterval(3600 - 86_400))
        #expect(rolling.brands.map(\.mentions.mentions) == [5, 4])
        // Keys: hour start, rolling end.
        #expect(
            harness.published.filter { $0.topic == "cs.opinion-report" }.map {
                String(decoding: $0.key ?? [], as: UTF8.self)
            } == [
                "hour/2026-11-25T08:00:00.000Z", "rolling24h/2026-11-25T09:00:00.000Z",
            ]
        )
    }

    @Test func anHourWithoutMentionsSaysSo() {
        let report = Reports(rules: Rules.defaults.kpi).opinionReport(
            period: "hour",
            start: ms(base),
            end: ms(base) + 3_600_000,
            tallies: [:]
        )
        #expect(report.summary == "2026-11-25T08:00:00.000Z – 2026-11-25T09:00:00.000Z: no public mentions.")
        #expect(report.brands.isEmpty)
    }

    /// Defaults: count > 3 × trailing 24-hour mean and count ≥ 10.
    @Test func spikeAlerts() {
        let reports = Reports(rules: Rules.defaults.kpi)
        let hour: Int64 = 3_600_000
        let start = ms(base)
        var history: [Int64: [String: Int64]] = [:]
        for back in 1...24 {
            // billing: 2 complaints every hour → mean 2; network: 4 → mean 4.
            history[start - Int64(back) * hour] = ["complaintTopic:billing": 2, "complaintTopic:network": 4]
        }
        // 25 hours back is outside the trailing 24 hours.
        history[start - 25 * hour] = ["complaintCampaign:double11": 1000]
        let tallies: [String: Int64] = [
            "complaintTopic:billing": 7,  // 7 > 6 but < 10: no alert
            "complaintTopic:network": 13,  // 13 > 12 and ≥ 10: alert
            "complaintCampaign:double11": 10,  // mean 0, 10 ≥ 10: alert
            "negativeTopic:roaming": 9,  // < 10: no alert
            "negativeCampaign:double11": 12,  // mean 0: alert
        ]
        let alerts = reports.alerts(start: start, end: start + hour, tallies: tallies, history: history)
        #expect(
            alerts.map(\.alertId) == [
                "complaint_spike/topic/network/2026-11-25T08:00:00.000Z",
                "complaint_spike/campaign/double11/2026-11-25T08:00:00.000Z",
                "negative_mention_spike/campaign/double11/2026-11-25T08:00:00.000Z",
            ]
        )
        #expect(alerts[0].count == 13)
        #expect(alerts[0].trailingMean == 4)
        #expect(alerts[1].trailingMean == 0)
        #expect(alerts[0].message.contains("13 complaints on topic network"))
        // Exactly three times the mean is not a spike.
        let boundary = reports.alerts(
            start: start,
            end: start + hour,
            tallies: ["complaintTopic:network": 12],
            history: history
        )
        #expect(boundary.isEmpty)
    }

    @Test func complaintSpikeAlertFromThePipeline() throws {
        let harness = Harness(wall: ms(base))
        for index in 0..<10 {
            harness.send(
                "cs.interactions",
                interaction(
                    "c\(index)",
                    at: base.addingTimeInterval(Double(index)),
                    kind: "complaint",
                    customer: "c\(index)",
                    extra: #","topic":"billing""#
                )
            )
        }
        harness.send("cs.interactions", interaction("later", at: base.addingTimeInterval(7201)))
        harness.tick()
        let alerts = try harness.records(KPIAlert.self, topic: "cs.alerts")
        #expect(alerts.map(\.alertId) == ["complaint_spike/topic/billing/2026-11-25T08:00:00.000Z"])
        #expect(alerts.first?.count == 10)
    }
}
