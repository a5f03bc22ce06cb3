public import Foundation

/// The three tumbling window sizes of SPEC §5.
public enum KPIWindowSize: String, Codable, Sendable, Hashable, CaseIterable {
    case minute
    case hour
    case day
}

/// What a KPI record is broken down by (SPEC §5). `overall` has the single value `all`.
public enum KPIDimension: String, Codable, Sendable, Hashable, CaseIterable {
    case overall
    case channel
    case department
    case tier
    case topic
    case queue
}

/// Additive counters of one window and dimension value: every KPI is a ratio of these, so
/// counters from any number of partitions or instances merge exactly by addition.
///
/// Sums of seconds are kept in integer milliseconds and sums of sentiment in millionths, so that
/// addition is associative and a merged window is bit-for-bit the same whatever the merge order.
public struct KPICounters: Sendable, Hashable {
    /// One counter. The raw value is its position in ``values``; the name is its JSON key.
    public enum Field: Int, CaseIterable, Sendable {
        case contacts, inquiry, request, complaint, followUp, outbound, survey, opinion
        case offered, answered, abandoned, shortAbandons, answeredWithinServiceLevel
        case answeredWithWait, answeredWaitMillis, handled, handleMillis
        case resolutionKnown, resolvedFirstContact
        case repeatBase, repeatContacts
        case csatResponses, csatTop2Box, csatSum
        case effortResponses, effortLow, effortSum
        case npsResponses, promoters, passives, detractors
        case complaints, escalations
        case leadsCreated, leadsSuppressed, leadsContacted, leadsAccepted, leadsDeclined, leadsUnreachable
        case leadsOptedOut
        case sentimentCount, sentimentMicros

        /// The JSON key of the counter.
        public var name: String { String(describing: self) }
    }

    /// The counters, indexed by ``Field/rawValue``.
    public internal(set) var values: [Int64]
    /// Open-ended additive counts by a string key (suppressions by reason, opinion tallies…).
    public var tallies: [String: Int64]

    /// All counters zero.
    public init() {
        values = Array(repeating: 0, count: Field.allCases.count)
        tallies = [:]
    }

    /// The counters from their positional values (a changelog or partial record).
    /// Missing trailing values are zero; extra values are ignored.
    public init(values: [Int64], tallies: [String: Int64]) {
        var all = Array(repeating: Int64(0), count: Field.allCases.count)
        for index in 0..<min(values.count, all.count) { all[index] = values[index] }
        self.values = all
        self.tallies = tallies
    }

    public subscript(_ field: Field) -> Int64 {
        get { values[field.rawValue] }
        set { values[field.rawValue] = newValue }
    }

    /// Adds one to a counter.
    public mutating func increment(_ field: Field, by amount: Int64 = 1) {
        values[field.rawValue] &+= amount
    }

    /// Adds another window's counters to these.
    public mutating func merge(_ other: KPICounters) {
        for index in values.indices { values[index] &+= other.values[index] }
        for (key, count) in other.tallies { tallies[key, default: 0] &+= count }
    }

    /// Adds another window's counters where they may be non-zero (``nonZeroIndices``): the
    /// per-event delta touches a handful of its ~40 counters, and is added to ~20 cells.
    public mutating func merge(_ other: KPICounters, at indices: [Int]) {
        values.withUnsafeMutableBufferPointer { mine in
            other.values.withUnsafeBufferPointer { theirs in
                for index in indices { mine[index] &+= theirs[index] }
            }
        }
        for (key, count) in other.tallies { tallies[key, default: 0] &+= count }
    }

    /// The positions of the counters that are not zero.
    public var nonZeroIndices: [Int] { values.indices.filter { values[$0] != 0 } }

    /// True when every counter is zero and there are no tallies.
    public var isEmpty: Bool { tallies.isEmpty && values.allSatisfy { $0 == 0 } }

    /// The tallies whose key starts with `prefix`, keyed by the rest of the key.
    public func tallies(prefix: String) -> [String: Int64] {
        var found: [String: Int64] = [:]
        for (key, count) in tallies where key.hasPrefix(prefix) { found[String(key.dropFirst(prefix.count))] = count }
        return found
    }
}

/// The counters as a dashboard reads them: every counter by name, plus `suppressedByReason`.
public struct KPICounts: Codable, Sendable, Hashable {
    public var counters: KPICounters

    /// The tally prefix of lead suppressions by reason.
    public static let suppressionPrefix = "suppressed:"

    public init(_ counters: KPICounters) {
        self.counters = counters
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for field in KPICounters.Field.allCases {
            try container.encode(counters[field], forKey: Key(stringValue: field.name))
        }
        try container.encode(
            counters.tallies(prefix: Self.suppressionPrefix),
            forKey: Key(stringValue: "suppressedByReason")
        )
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var counters = KPICounters()
        for field in KPICounters.Field.allCases {
            counters[field] = try container.decodeIfPresent(Int64.self, forKey: Key(stringValue: field.name)) ?? 0
        }
        let suppressed =
            try container.decodeIfPresent([String: Int64].self, forKey: Key(stringValue: "suppressedByReason")) ?? [:]
        for (reason, count) in suppressed { counters.tallies[Self.suppressionPrefix + reason] = count }
        self.counters = counters
    }
}

/// The KPIs of one window and dimension value. A KPI whose denominator is zero is `nil`, written
/// as JSON `null` (never NaN, never left out).
public struct KPIRates: Codable, Sendable, Hashable {
    /// answered / offered.
    public var answerRate: Double?
    /// (abandoned − short abandons) / (offered − short abandons).
    public var abandonRate: Double?
    /// answered within the service-level threshold / (offered − short abandons).
    public var serviceLevel: Double?
    /// Average speed of answer: mean wait of answered contacts, seconds.
    public var asaSeconds: Double?
    /// Average handle time of answered contacts, seconds.
    public var ahtSeconds: Double?
    /// First-contact resolution: resolved with no transfer / contacts with a known resolution.
    public var fcr: Double?
    /// Contacts about a topic the customer contacted about in the previous days / such contacts.
    public var repeatContactRate: Double?
    /// 1 − repeat-contact rate.
    public var observedFcr: Double?
    /// Share of CSAT answers of 4 or 5.
    public var csatTop2Box: Double?
    /// Mean CSAT (1–5).
    public var csatMean: Double?
    /// Mean effort (1 very easy – 5 very hard).
    public var cesMean: Double?
    /// Share of effort answers of 1 or 2.
    public var cesLowEffortShare: Double?
    /// Net promoter score: % promoters (9–10) − % detractors (0–6), −100…100.
    public var nps: Double?
    /// complaints / contacts.
    public var complaintRate: Double?
    /// accepted / contacted lead outcomes.
    public var conversion: Double?
    /// opted-out / contacted lead outcomes.
    public var optOutRate: Double?
    /// Mean sentiment of contacts (−1…1).
    public var sentimentMean: Double?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case answerRate, abandonRate, serviceLevel, asaSeconds, ahtSeconds, fcr, repeatContactRate, observedFcr
        case csatTop2Box, csatMean, cesMean, cesLowEffortShare, nps, complaintRate, conversion, optOutRate
        case sentimentMean
    }

    /// Writes every KPI, `null` when its denominator is zero.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(answerRate, forKey: .answerRate)
        try container.encode(abandonRate, forKey: .abandonRate)
        try container.encode(serviceLevel, forKey: .serviceLevel)
        try container.encode(asaSeconds, forKey: .asaSeconds)
        try container.encode(ahtSeconds, forKey: .ahtSeconds)
        try container.encode(fcr, forKey: .fcr)
        try container.encode(repeatContactRate, forKey: .repeatContactRate)
        try container.encode(observedFcr, forKey: .observedFcr)
        try container.encode(csatTop2Box, forKey: .csatTop2Box)
        try container.encode(csatMean, forKey: .csatMean)
        try container.encode(cesMean, forKey: .cesMean)
        try container.encode(cesLowEffortShare, forKey: .cesLowEffortShare)
        try container.encode(nps, forKey: .nps)
        try container.encode(complaintRate, forKey: .complaintRate)
        try container.encode(conversion, forKey: .conversion)
        try container.encode(optOutRate, forKey: .optOutRate)
        try container.encode(sentimentMean, forKey: .sentimentMean)
    }
}

/// The definitions a KPI record was computed with (vendors disagree on them, SPEC §5).
public struct KPIDefinitions: Codable, Sendable, Hashable {
    /// Abandons after a wait shorter than this are short abandons (left out of abandon rate and service level).
    public var shortAbandonSeconds: Double
    /// Service level counts answers within this many seconds.
    public var serviceLevelSeconds: Double
    /// A contact is a repeat when the customer contacted about the same topic this many days before.
    public var repeatContactDays: Int
    /// The time zone of day (and hour) boundaries.
    public var timeZone: String
    /// Events up to this long after the window's end were still counted.
    public var graceSeconds: Int
    /// The topic dimension publishes this many topics with the most contacts.
    public var topTopics: Int

    public init(
        shortAbandonSeconds: Double,
        serviceLevelSeconds: Double,
        repeatContactDays: Int,
        timeZone: String,
        graceSeconds: Int,
        topTopics: Int
    ) {
        self.shortAbandonSeconds = shortAbandonSeconds
        self.serviceLevelSeconds = serviceLevelSeconds
        self.repeatContactDays = repeatContactDays
        self.timeZone = timeZone
        self.graceSeconds = graceSeconds
        self.topTopics = topTopics
    }
}

/// A record of `cs.kpi`, keyed `window/start/dimension/value` (e.g. `hour/2026-11-25T08:00:00.000Z/channel/phone`).
///
/// Published while the window is open (`final: false`, throttled) and once, with `final: true`,
/// when event time passes the window's end plus grace. On the compacted topic the last record per
/// key is the final one.
public struct KPISnapshot: Codable, Sendable, Hashable {
    public var window: KPIWindowSize
    /// The window's start (inclusive).
    public var start: Date
    /// The window's end (exclusive).
    public var end: Date
    public var dimension: KPIDimension
    /// The dimension's value: `all` for overall, else a channel, department, tier, topic or queue.
    public var value: String
    /// True for the window's last snapshot.
    public var final: Bool
    public var counts: KPICounts
    public var kpis: KPIRates
    public var definitions: KPIDefinitions

    public init(
        window: KPIWindowSize,
        start: Date,
        end: Date,
        dimension: KPIDimension,
        value: String,
        final: Bool,
        counts: KPICounts,
        kpis: KPIRates,
        definitions: KPIDefinitions
    ) {
        self.window = window
        self.start = start
        self.end = end
        self.dimension = dimension
        self.value = value
        self.final = final
        self.counts = counts
        self.kpis = kpis
        self.definitions = definitions
    }

    /// The record key, `window/start/dimension/value`.
    public var key: String {
        "\(window.rawValue)/\(Timestamp.format(start) ?? "")/\(dimension.rawValue)/\(value)"
    }
}

/// A record of `cs.opinion-report` (SPEC §5): public opinion over one hour or the rolling 24 hours
/// ending at an hour, keyed `hour/<start>` or `rolling24h/<end>`.
public struct OpinionReport: Codable, Sendable, Hashable {
    /// `hour` or `rolling24h`.
    public var period: String
    public var start: Date
    public var end: Date
    /// Mentions per platform and brand.
    public var platforms: [Platform]
    /// Per brand over every platform, with its share of voice.
    public var brands: [Brand]
    /// Campaigns mentioned, with their sentiment.
    public var campaigns: [Campaign]
    /// Topics with the most negative mentions of our brand, most first.
    public var topNegativeTopics: [TopicCount]
    /// A short human-readable summary.
    public var summary: String
    /// The sentiment band: |sentiment| ≤ this is neutral.
    public var neutralBand: Double

    public init(
        period: String,
        start: Date,
        end: Date,
        platforms: [Platform],
        brands: [Brand],
        campaigns: [Campaign],
        topNegativeTopics: [TopicCount],
        summary: String,
        neutralBand: Double
    ) {
        self.period = period
        self.start = start
        self.end = end
        self.platforms = platforms
        self.brands = brands
        self.campaigns = campaigns
        self.topNegativeTopics = topNegativeTopics
        self.summary = summary
        self.neutralBand = neutralBand
    }

    /// Mentions of one brand: counts by sentiment class and net sentiment.
    public struct Mentions: Codable, Sendable, Hashable {
        public var mentions: Int64
        public var positive: Int64
        public var neutral: Int64
        public var negative: Int64
        /// (positive − negative) / mentions, −1…1; null without mentions.
        public var netSentiment: Double?

        public init(mentions: Int64, positive: Int64, neutral: Int64, negative: Int64) {
            self.mentions = mentions
            self.positive = positive
            self.neutral = neutral
            self.negative = negative
            netSentiment = mentions == 0 ? nil : Double(positive - negative) / Double(mentions)
        }

        enum CodingKeys: String, CodingKey { case mentions, positive, neutral, negative, netSentiment }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(mentions, forKey: .mentions)
            try container.encode(positive, forKey: .positive)
            try container.encode(neutral, forKey: .neutral)
            try container.encode(negative, forKey: .negative)
            try container.encode(netSentiment, forKey: .netSentiment)
        }
    }

    /// One platform (channel) and the brands mentioned on it.
    public struct Platform: Codable, Sendable, Hashable {
        public var platform: String
        public var brands: [BrandMentions]
        public init(platform: String, brands: [BrandMentions]) {
            self.platform = platform
            self.brands = brands
        }
    }

    /// A brand's mentions on one platform.
    public struct BrandMentions: Codable, Sendable, Hashable {
        public var brand: String
        public var mentions: Mentions
        public init(brand: String, mentions: Mentions) {
            self.brand = brand
            self.mentions = mentions
        }
    }

    /// A brand over every platform.
    public struct Brand: Codable, Sendable, Hashable {
        public var brand: String
        public var mentions: Mentions
        /// This brand's mentions / all mentions.
        public var shareOfVoice: Double
        public init(brand: String, mentions: Mentions, shareOfVoice: Double) {
            self.brand = brand
            self.mentions = mentions
            self.shareOfVoice = shareOfVoice
        }
    }

    /// A campaign's mentions (contacts and public posts that name it).
    public struct Campaign: Codable, Sendable, Hashable {
        public var campaignId: String
        public var mentions: Mentions
        public init(campaignId: String, mentions: Mentions) {
            self.campaignId = campaignId
            self.mentions = mentions
        }
    }

    /// A topic and a count.
    public struct TopicCount: Codable, Sendable, Hashable {
        public var topic: String
        public var count: Int64
        public init(topic: String, count: Int64) {
            self.topic = topic
            self.count = count
        }
    }

    /// The record key: `hour/<start>` or `rolling24h/<end>`.
    public var key: String {
        period == "hour" ? "hour/\(Timestamp.format(start) ?? "")" : "rolling24h/\(Timestamp.format(end) ?? "")"
    }
}

/// A record of `cs.alerts` (SPEC §5): a spike of complaints or negative public mentions on a topic
/// or campaign, keyed by ``alertId``.
public struct KPIAlert: Codable, Sendable, Hashable {
    /// Deterministic: `<kind>/<subject>/<value>/<hour start>`, so a replay re-emits the same id.
    public var alertId: String
    /// `complaint_spike` or `negative_mention_spike`.
    public var kind: String
    /// `topic` or `campaign`.
    public var subject: String
    /// The topic or campaign id.
    public var value: String
    /// The hour the spike was seen in.
    public var hourStart: Date
    public var hourEnd: Date
    /// The count in that hour.
    public var count: Int64
    /// The mean hourly count over the trailing hours before it.
    public var trailingMean: Double
    public var trailingHours: Int
    /// The rule: count > factor × trailingMean and count ≥ minimumCount.
    public var factor: Double
    public var minimumCount: Int
    /// A human sentence.
    public var message: String

    public init(
        alertId: String,
        kind: String,
        subject: String,
        value: String,
        hourStart: Date,
        hourEnd: Date,
        count: Int64,
        trailingMean: Double,
        trailingHours: Int,
        factor: Double,
        minimumCount: Int,
        message: String
    ) {
        self.alertId = alertId
        self.kind = kind
        self.subject = subject
        self.value = value
        self.hourStart = hourStart
        self.hourEnd = hourEnd
        self.count = count
        self.trailingMean = trailingMean
        self.trailingHours = trailingHours
        self.factor = factor
        self.minimumCount = minimumCount
        self.message = message
    }
}
