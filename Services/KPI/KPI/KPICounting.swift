public import Models

/// How one input record changes the counters (SPEC §5), as pure functions: the processor adds
/// the result to every window and dimension value the record belongs to.
public struct KPICounting: Sendable {
    /// Abandons after a wait shorter than this are short abandons.
    public var shortAbandonMillis: Int64
    /// Answers within this wait count toward service level.
    public var serviceLevelMillis: Int64
    /// A public mention with |sentiment| ≤ this is neutral.
    public var neutralBand: Double

    public init(rules: Rules.KPI) {
        shortAbandonMillis = Int64((rules.shortAbandonSeconds * 1000).rounded())
        serviceLevelMillis = Int64((rules.serviceLevelSeconds * 1000).rounded())
        neutralBand = rules.opinion.neutralBand
    }

    /// The kinds that are contacts (the denominator of complaint rate, FCR): everything but
    /// survey answers and public mentions.
    public static func isContact(_ kind: InteractionKind) -> Bool {
        kind != .survey && kind != .opinion
    }

    /// The kinds a customer starts (offered to a live queue, and the repeat-contact base).
    public static func isCustomerInitiated(_ kind: InteractionKind) -> Bool {
        kind == .inquiry || kind == .request || kind == .complaint
    }

    /// The counters one interaction adds.
    ///
    /// - Parameters:
    ///   - isRepeat: whether the customer contacted about the same topic in the previous repeat
    ///     window (nil when the contact has no customer or topic: it is not in the repeat base).
    public func interaction(
        _ raw: RawInteraction,
        channel: Channel,
        kind: InteractionKind,
        isRepeat: Bool?
    ) -> KPICounters {
        typealias F = KPICounters.Field
        var counters = KPICounters()
        switch kind {
        case .inquiry: counters.increment(F.inquiry)
        case .request: counters.increment(F.request)
        case .complaint: counters.increment(F.complaint)
        case .followUp: counters.increment(F.followUp)
        case .outbound: counters.increment(F.outbound)
        case .survey: counters.increment(F.survey)
        case .opinion: counters.increment(F.opinion)
        }
        let contact = Self.isContact(kind)
        if contact { counters.increment(F.contacts) }
        if kind == .complaint { counters.increment(F.complaints) }
        if channel.isEscalation { counters.increment(F.escalations) }

        // Live queues: offered, answered, abandoned, short abandons, service level, ASA, AHT.
        if channel.isLive, Self.isCustomerInitiated(kind), let answered = raw.answered {
            counters.increment(F.offered)
            let waitMillis = raw.waitSeconds.map { Int64(($0 * 1000).rounded()) }
            if answered {
                counters.increment(F.answered)
                if let waitMillis {
                    counters.increment(F.answeredWithWait)
                    counters.increment(F.answeredWaitMillis, by: waitMillis)
                    if waitMillis <= serviceLevelMillis { counters.increment(F.answeredWithinServiceLevel) }
                }
                if let handle = raw.handleSeconds {
                    counters.increment(F.handled)
                    counters.increment(F.handleMillis, by: Int64((handle * 1000).rounded()))
                }
            } else {
                counters.increment(F.abandoned)
                if let waitMillis, waitMillis < shortAbandonMillis { counters.increment(F.shortAbandons) }
            }
        }
        if contact, let resolved = raw.resolved {
            counters.increment(F.resolutionKnown)
            if resolved && (raw.transfers ?? 0) == 0 { counters.increment(F.resolvedFirstContact) }
        }
        if let isRepeat {
            counters.increment(F.repeatBase)
            if isRepeat { counters.increment(F.repeatContacts) }
        }
        if let csat = raw.csat {
            counters.increment(F.csatResponses)
            counters.increment(F.csatSum, by: Int64(csat))
            if csat >= 4 { counters.increment(F.csatTop2Box) }
        }
        if let effort = raw.effort {
            counters.increment(F.effortResponses)
            counters.increment(F.effortSum, by: Int64(effort))
            if effort <= 2 { counters.increment(F.effortLow) }
        }
        if let nps = raw.nps {
            counters.increment(F.npsResponses)
            if nps >= 9 {
                counters.increment(F.promoters)
            } else if nps >= 7 {
                counters.increment(F.passives)
            } else {
                counters.increment(F.detractors)
            }
        }
        if kind != .opinion, let sentiment = raw.sentiment {
            counters.increment(F.sentimentCount)
            counters.increment(F.sentimentMicros, by: Int64((sentiment * 1_000_000).rounded()))
        }
        return counters
    }

    /// `positive`, `neutral` or `negative` (missing sentiment is neutral).
    public func sentimentClass(_ sentiment: Double?) -> String {
        guard let sentiment else { return "neutral" }
        if sentiment > neutralBand { return "positive" }
        if sentiment < -neutralBand { return "negative" }
        return "neutral"
    }

    /// The tallies an interaction adds to its hour's overall counters, for the opinion report
    /// and the alerts: public mentions by platform, brand and sentiment class; campaign mentions;
    /// our negative mentions by topic and campaign; complaints by topic and campaign.
    public func hourTallies(_ raw: RawInteraction, channel: Channel, kind: InteractionKind) -> [String] {
        var keys: [String] = []
        if kind == .opinion {
            let brand = raw.brand.map { $0.isEmpty ? "unknown" : $0.lowercased() } ?? "unknown"
            let sentiment = sentimentClass(raw.sentiment)
            keys.append("\(Tally.mention)\(channel.rawValue)|\(brand)|\(sentiment)")
            if let campaign = raw.campaignId, !campaign.isEmpty {
                keys.append("\(Tally.campaign)\(campaign)|\(sentiment)")
            }
            if brand == "own", sentiment == "negative" {
                if let topic = raw.topic, !topic.isEmpty { keys.append("\(Tally.negativeTopic)\(topic)") }
                if let campaign = raw.campaignId, !campaign.isEmpty {
                    keys.append("\(Tally.negativeCampaign)\(campaign)")
                }
            }
        }
        if kind == .complaint {
            if let topic = raw.topic, !topic.isEmpty { keys.append("\(Tally.complaintTopic)\(topic)") }
            if let campaign = raw.campaignId, !campaign.isEmpty { keys.append("\(Tally.complaintCampaign)\(campaign)") }
        }
        return keys
    }

    /// The counters a lead adds.
    public static func leadCreated() -> KPICounters {
        var counters = KPICounters()
        counters.increment(.leadsCreated)
        return counters
    }

    /// The counters a lead suppression adds (and its reason's tally).
    public static func leadSuppressed(reason: String) -> KPICounters {
        var counters = KPICounters()
        counters.increment(.leadsSuppressed)
        counters.tallies[KPICounts.suppressionPrefix + reason] = 1
        return counters
    }

    /// The counters a lead outcome adds.
    public static func leadOutcome(_ outcome: OutcomeKind) -> KPICounters {
        var counters = KPICounters()
        switch outcome {
        case .contacted: counters.increment(.leadsContacted)
        case .accepted: counters.increment(.leadsAccepted)
        case .declined: counters.increment(.leadsDeclined)
        case .unreachable: counters.increment(.leadsUnreachable)
        case .optedOut: counters.increment(.leadsOptedOut)
        }
        return counters
    }
}

/// Prefixes of the hour tallies (see ``KPICounting/hourTallies(_:channel:kind:)``).
public enum Tally {
    /// `mention:<platform>|<brand>|<class>`.
    public static let mention = "mention:"
    /// `campaign:<campaignId>|<class>`.
    public static let campaign = "campaign:"
    /// `negativeTopic:<topic>` — our negative public mentions.
    public static let negativeTopic = "negativeTopic:"
    /// `negativeCampaign:<campaignId>`.
    public static let negativeCampaign = "negativeCampaign:"
    /// `complaintTopic:<topic>`.
    public static let complaintTopic = "complaintTopic:"
    /// `complaintCampaign:<campaignId>`.
    public static let complaintCampaign = "complaintCampaign:"
}
