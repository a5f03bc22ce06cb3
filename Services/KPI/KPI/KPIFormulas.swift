public import Models

/// The KPIs of SPEC §5 as ratios of additive counters. A zero denominator gives `nil` (JSON null).
public enum KPIFormulas {
    /// Every KPI of a window and dimension value.
    public static func rates(_ counters: KPICounters) -> KPIRates {
        typealias F = KPICounters.Field
        var rates = KPIRates()
        let offered = counters[F.offered]
        let short = counters[F.shortAbandons]
        rates.answerRate = ratio(counters[F.answered], offered)
        rates.abandonRate = ratio(counters[F.abandoned] - short, offered - short)
        rates.serviceLevel = ratio(counters[F.answeredWithinServiceLevel], offered - short)
        rates.asaSeconds = ratio(counters[F.answeredWaitMillis], counters[F.answeredWithWait]).map { $0 / 1000 }
        rates.ahtSeconds = ratio(counters[F.handleMillis], counters[F.handled]).map { $0 / 1000 }
        rates.fcr = ratio(counters[F.resolvedFirstContact], counters[F.resolutionKnown])
        rates.repeatContactRate = ratio(counters[F.repeatContacts], counters[F.repeatBase])
        rates.observedFcr = rates.repeatContactRate.map { 1 - $0 }
        rates.csatTop2Box = ratio(counters[F.csatTop2Box], counters[F.csatResponses])
        rates.csatMean = ratio(counters[F.csatSum], counters[F.csatResponses])
        rates.cesMean = ratio(counters[F.effortSum], counters[F.effortResponses])
        rates.cesLowEffortShare = ratio(counters[F.effortLow], counters[F.effortResponses])
        if counters[F.npsResponses] > 0 {
            rates.nps = 100 * Double(counters[F.promoters] - counters[F.detractors]) / Double(counters[F.npsResponses])
        }
        rates.complaintRate = ratio(counters[F.complaints], counters[F.contacts])
        rates.conversion = ratio(counters[F.leadsAccepted], counters[F.leadsContacted])
        rates.optOutRate = ratio(counters[F.leadsOptedOut], counters[F.leadsContacted])
        rates.sentimentMean = ratio(counters[F.sentimentMicros], counters[F.sentimentCount]).map { $0 / 1_000_000 }
        return rates
    }

    /// numerator / denominator, nil when the denominator is not positive.
    static func ratio(_ numerator: Int64, _ denominator: Int64) -> Double? {
        denominator > 0 ? Double(numerator) / Double(denominator) : nil
    }
}
