import Foundation
public import Models
public import ServiceKit

/// A contact on `cs.interactions` as segmentation sees it.
public struct Contact: Sendable, Hashable {
    /// The customer.
    public var customerId: String
    /// When it happened, ms since the epoch.
    public var at: Int64
    /// The interaction kind (`inquiry`, `complaint`, `outbound`, …).
    public var kind: String
    /// Live channels: whether it was answered.
    public var answered: Bool?
    /// Detected intents, lower-cased.
    public var signals: [String]

    /// Makes a contact.
    public init(customerId: String, at: Int64, kind: String, answered: Bool? = nil, signals: [String] = []) {
        self.customerId = customerId
        self.at = at
        self.kind = kind
        self.answered = answered
        self.signals = signals
    }
}

/// The rules of SPEC §3 applied to one customer's ``CustomerProfile``: events update the state,
/// ``segment(of:customerId:)`` turns it into a ``CustomerSegment`` when something changed.
///
/// Documented choices where the spec is silent:
/// - No segment before the customer's first `profile` event: bills and contacts are remembered
///   meanwhile, so the first segment is complete.
/// - A profile event older than the latest applied one is stale and ignored; a profile's absent
///   fields keep their previous values. Credit and influence count 0 until a profile gives them.
/// - A bill for a period already billed replaces it (a corrected bill); the same bill again, or a
///   purchase with the same time, amount and product, changes nothing.
/// - Activity counts contacts of every kind except `opinion`, and `outbound` only when answered;
///   a customer with no contact, bill or purchase yet counts as active from the first profile.
/// - Tenure counts whole months (so the score does not creep every day); the tenure tag and part
///   follow on the customer's next event or timer.
/// - The customer's event time (`asOf`) is the latest event or timer applied to them; it never
///   goes back, so a late event is judged at the customer's current time.
public struct Segmenter: Sendable {
    /// The segmentation rules.
    public let rules: Rules.Segmentation
    /// Region class names, sorted: ``CustomerProfile/Evaluation/regionClass`` indexes them.
    let classNames: [String]
    /// The fixed parts of the reasons, written once.
    let texts: Texts
    /// Region code → class, coefficient and class index, looked up once per code.
    private let regionMemo = RegionMemo()

    /// A memo of region lookups (a code, then its prefecture, then its province: three string
    /// hashes and two allocations each time otherwise). Region codes are a few thousand at most.
    ///
    /// - Important: not thread-safe, like the processor that owns the segmenter.
    final class RegionMemo: @unchecked Sendable {
        var entries: [String: (name: String, coefficient: Double, index: UInt8, hash: UInt32)] = [:]
    }

    /// The class of region `code`, its coefficient, the class's index and the code's hash.
    func region(_ code: String) -> (name: String, coefficient: Double, index: UInt8, hash: UInt32) {
        if let known = regionMemo.entries[code] { return known }
        let name = rules.regions.regionClass(of: code)
        let entry = (
            name: name, coefficient: rules.regions.classes[name] ?? 1,
            index: UInt8(clamping: classNames.firstIndex(of: name) ?? 0), hash: code.isEmpty ? 0 : fnv1a(code)
        )
        if regionMemo.entries.count < 100_000 { regionMemo.entries[code] = entry }
        return entry
    }

    struct Texts: Sendable {
        var weights: (arpu: String, credit: String, influence: String, tenure: String)
        var high: String
        var mid: String
        var hysteresis: String
        var coefficients: [String: String]
    }

    /// One day in ms.
    public static let day: Int64 = 86_400_000
    /// The largest bill or purchase amount accepted (a larger one is dead-lettered): amounts are
    /// kept in 32-bit cents.
    public static let maxAmount = 10_000_000.0

    /// Makes a segmenter for `rules` (validated).
    public init(rules: Rules.Segmentation) {
        self.rules = rules
        classNames = rules.regions.classes.keys.sorted()
        let weights = rules.value.weights
        texts = Texts(
            weights: (
                Self.decimal(weights.arpu, 0), Self.decimal(weights.credit, 0), Self.decimal(weights.influence, 0),
                Self.decimal(weights.tenure, 0)
            ),
            high: Self.decimal(rules.tiers.highMinScore, 0),
            mid: Self.decimal(rules.tiers.midMinScore, 0),
            hysteresis: Self.decimal(rules.tiers.hysteresisPoints, 0),
            coefficients: rules.regions.classes.mapValues { Self.decimal($0, 2, trim: true) }
        )
    }

    // MARK: - Events

    /// Applies an account event to the customer's state.
    ///
    /// - Returns: whether the state changed (a repeated bill or a stale profile changes nothing).
    /// - Throws: ``ProcessingFailure`` `invalid` for an event that breaks a rule of SPEC §2 (a
    ///   malformed period, a negative amount, …) or an amount above ``maxAmount``.
    @discardableResult
    public func apply(_ event: AccountEvent, to state: inout CustomerProfile) throws(ProcessingFailure) -> Bool {
        let errors = event.validationErrors(now: Date())
        if !errors.isEmpty {
            throw ProcessingFailure(
                reason: "invalid",
                message: errors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
            )
        }
        let at = Self.milliseconds(event.at)
        switch event {
        case .profile(let profile):
            if at < state.profileAt { return false }
            let before = state
            state.profileAt = at
            state.hasProfile = true
            if let region = profile.region { state.region = region }
            if let joinedAt = profile.joinedAt { state.joinedAt = Self.milliseconds(joinedAt) }
            if let credit = profile.creditScore { state.creditScore = credit }
            if let influence = profile.influence { state.influence = influence }
            if let points = profile.points { state.points = Int64(points) }
            if let plan = profile.planId { state.planHash = plan.isEmpty ? 0 : fnv1a(plan) }
            if state.lastActivityAt == .min { state.lastActivityAt = at }
            state.asOf = max(state.asOf, at)
            return state != before
        case .bill(let bill):
            let cents = try Self.cents(bill.amount)
            let period = Self.period(bill.period)
            let transaction = CustomerProfile.Transaction(at: at, cents: cents, period: period)
            if let index = state.transactions.firstIndex(where: { $0.period == period }) {
                if state.transactions[index] == transaction { return false }
                state.transactions.remove(at: index)
            }
            insert(transaction, into: &state)
        case .purchase(let purchase):
            let cents = try Self.cents(purchase.amount)
            let hash = fnv1a(purchase.productId)
            let transaction = CustomerProfile.Transaction(at: at, cents: cents, period: -1 - Int32(hash >> 1))
            if state.transactions.contains(transaction) { return false }
            insert(transaction, into: &state)
            if !state.products.contains(hash), state.products.count < CustomerProfile.maxProducts {
                state.products.append(hash)
            }
        }
        state.lastActivityAt = max(state.lastActivityAt, at)
        state.asOf = max(state.asOf, at)
        prune(&state)
        return true
    }

    /// Applies a contact to the customer's state.
    ///
    /// - Returns: whether the state changed (an `opinion`, or an unanswered `outbound` call, does not).
    @discardableResult
    public func apply(_ contact: Contact, to state: inout CustomerProfile) -> Bool {
        if contact.kind == InteractionKind.opinion.rawValue { return false }
        if contact.kind == InteractionKind.outbound.rawValue, contact.answered != true { return false }
        let at = contact.at
        let before = state
        state.lastActivityAt = max(state.lastActivityAt, at)
        state.asOf = max(state.asOf, at)
        let churn = rules.churnRisk
        for signal in contact.signals {
            if let index = churn.highSignals.firstIndex(of: signal), at >= state.lastHighSignalAt {
                state.lastHighSignalAt = at
                state.lastHighSignal = UInt8(clamping: index)
            } else if let index = churn.mediumSignals.firstIndex(of: signal), at >= state.lastMediumSignalAt {
                state.lastMediumSignalAt = at
                state.lastMediumSignal = UInt8(clamping: index)
            }
        }
        if contact.kind == InteractionKind.complaint.rawValue {
            let index = state.complaints.firstIndex { $0 > at } ?? state.complaints.endIndex
            state.complaints.insert(at, at: index)
            if state.complaints.count > churn.highComplaints {
                state.complaints.removeFirst(state.complaints.count - churn.highComplaints)
            }
        }
        return state != before
    }

    /// Moves the customer's event time on to `time` (a timer: nothing happened, time passed).
    public func advance(_ state: inout CustomerProfile, to time: Int64) {
        state.asOf = max(state.asOf, time)
        prune(&state)
    }

    private func insert(_ transaction: CustomerProfile.Transaction, into state: inout CustomerProfile) {
        let index = state.transactions.firstIndex { $0.at > transaction.at } ?? state.transactions.endIndex
        state.transactions.insert(transaction, at: index)
    }

    /// Drops bills and purchases older than the RFM window, except the last bills ARPU needs, and
    /// beyond ``CustomerProfile/maxTransactions`` the oldest of the others.
    private func prune(_ state: inout CustomerProfile) {
        guard !state.transactions.isEmpty else { return }
        let since = state.asOf - Int64(rules.rfm.windowDays) * Self.day
        let excess = state.transactions.count - CustomerProfile.maxTransactions
        guard state.transactions[0].at < since || excess > 0 else { return }
        let keptBills = Set(lastBills(state).map(\.period))
        var removed = 0
        state.transactions.removeAll { transaction in
            if keptBills.contains(transaction.period) { return false }
            if transaction.at < since || removed < excess {
                removed += 1
                return true
            }
            return false
        }
    }

    /// The last `arpu.billCount` bills by billing month, oldest first.
    func lastBills(_ state: CustomerProfile) -> [CustomerProfile.Transaction] {
        let bills = state.transactions.filter(\.isBill).sorted { $0.period < $1.period }
        return Array(bills.suffix(rules.arpu.billCount))
    }

    // MARK: - Evaluation

    /// Everything a segment says, with the numbers behind it (for the reasons).
    public struct Breakdown: Sendable {
        public var evaluation = CustomerProfile.Evaluation()
        /// Unrounded ARPU and the bills it averages.
        public var arpu: Double?
        public var billsInARPU = 0
        public var regionClass = ""
        public var regionCoefficient = 1.0
        public var tenureYears: Double?
        /// Points of each part of the score (unrounded).
        public var arpuPoints = 0.0
        public var creditPoints = 0.0
        public var influencePoints = 0.0
        public var tenurePoints = 0.0
        public var score = 0.0
        public var recencyDays = 0
        public var frequencyCount = 0
        public var monetaryCents: Int64 = 0
        public var rfm: CustomerSegment.RFM?
        public var activityDays = 0
        public var productsHeld = 0
        public var tags = CustomerSegment.Tags(tenure: "", spend: "", loyalty: "", activity: "", products: "")
    }

    /// Evaluates every rule at the customer's event time.
    ///
    /// - Parameter previousTier: the tier of the last published segment, for hysteresis (nil: none).
    public func evaluate(_ state: CustomerProfile, previousTier: Rules.Tier?) -> Breakdown {
        var b = Breakdown()
        let asOf = state.asOf
        // ARPU.
        // The last `billCount` bills by billing month, picked without allocating: the largest
        // period, then the largest below it, … (a handful of transactions, a few bills).
        var sum: Int64 = 0
        var count = 0
        var below = Int32.max
        while count < rules.arpu.billCount {
            var best: CustomerProfile.Transaction?
            for transaction in state.transactions where transaction.isBill && transaction.period < below {
                if best == nil || transaction.period > best!.period { best = transaction }
            }
            guard let best else { break }
            sum += Int64(best.cents)
            count += 1
            below = best.period
        }
        if count > 0 {
            let mean = Double(sum) / Double(count)
            b.arpu = mean / 100
            b.billsInARPU = count
            b.evaluation.arpuCents = Int64(mean.rounded(.toNearestOrAwayFromZero))
        }
        // Region.
        let region = region(state.region)
        b.regionClass = region.name
        b.regionCoefficient = region.coefficient
        b.evaluation.regionClass = region.index
        b.evaluation.regionCode = region.hash
        // Composite score.
        if state.joinedAt != .min {
            b.tenureYears = Double(Timestamp.wholeMonths(fromMilliseconds: state.joinedAt, to: asOf)) / 12
        }
        let value = rules.value
        func share(_ value: Double, of full: Double) -> Double { min(1, max(0, value / full)) }
        b.arpuPoints = value.weights.arpu * share((b.arpu ?? 0) / b.regionCoefficient, of: value.arpuForFullPoints)
        b.creditPoints = value.weights.credit * share(state.creditScore, of: 100)
        b.influencePoints = value.weights.influence * share(state.influence, of: 100)
        b.tenurePoints = value.weights.tenure * share(b.tenureYears ?? 0, of: value.tenureYearsForFullPoints)
        let raw = value.score(
            arpu: b.arpu ?? 0,
            regionCoefficient: b.regionCoefficient,
            creditScore: state.creditScore,
            influence: state.influence,
            tenureYears: b.tenureYears ?? 0
        )
        b.evaluation.scoreTenths = Int32((raw * 10).rounded(.toNearestOrAwayFromZero))
        b.score = Double(b.evaluation.scoreTenths) / 10
        b.evaluation.tier = rules.tiers.tier(score: b.score, previous: previousTier)
        // RFM.
        if let last = state.transactions.last {
            let rfm = rules.rfm
            b.recencyDays = Int(max(0, asOf - last.at) / Self.day)
            let since = asOf - Int64(rfm.windowDays) * Self.day
            for transaction in state.transactions where transaction.at >= since {
                b.frequencyCount += 1
                b.monetaryCents += Int64(transaction.cents)
            }
            let r = rfm.recencyScore(days: b.recencyDays)
            let f = rfm.frequencyScore(count: b.frequencyCount)
            let m = rfm.monetaryScore(amount: Double(b.monetaryCents) / 100)
            let index = rfm.segments.firstIndex {
                $0.recency.contains(r) && $0.frequency.contains(f) && $0.monetary.contains(m)
            }
            if let index {
                let segment = rfm.segments[index]
                b.rfm = .init(recency: r, frequency: f, monetary: m, segment: segment.id, segmentName: segment.name)
            }
            b.evaluation.rfm =
                UInt32(r) | UInt32(f) << 8 | UInt32(m) << 16 | UInt32((index ?? -1) + 1) << 24
        }
        // Activity.
        let elapsed = asOf - state.lastActivityAt
        b.activityDays = Int(max(0, elapsed) / Self.day)
        let activity = rules.activity
        b.evaluation.activity =
            elapsed <= Int64(activity.activeMaxDays) * Self.day
            ? .active : elapsed <= Int64(activity.coolingMaxDays) * Self.day ? .cooling : .inactive
        // Churn risk.
        b.evaluation.churnRisk = churnRisk(state, activity: b.evaluation.activity, reasons: nil)
        // Tags.
        let tags = rules.tags
        func band(_ value: Double, _ bands: [Rules.Segmentation.Band]) -> (UInt8, String) {
            let index = bands.lastIndex { value >= $0.atLeast } ?? 0
            return (UInt8(clamping: index + 1), bands[index].name)
        }
        var planCounted = 0
        if state.planHash != 0, !state.products.contains(state.planHash) { planCounted = 1 }
        b.productsHeld = state.products.count + planCounted
        let tenure = b.tenureYears.map { band($0, tags.tenureYears) } ?? (0, "unknown")
        let spend = b.arpu.map { band($0, tags.monthlySpend) } ?? (0, "unknown")
        let loyalty = band(Double(state.points), tags.loyaltyPoints)
        let products = band(Double(b.productsHeld), tags.productsHeld)
        b.evaluation.tenureBand = tenure.0
        b.evaluation.spendBand = spend.0
        b.evaluation.loyaltyBand = loyalty.0
        b.evaluation.productsBand = products.0
        b.tags = .init(
            tenure: tenure.1,
            spend: spend.1,
            loyalty: loyalty.1,
            activity: b.evaluation.activity.rawValue,
            products: products.1
        )
        return b
    }

    /// The churn risk at the customer's event time: the highest level any rule gives; with
    /// `reasons`, each rule that applies says why (built only for a record that shows them).
    func churnRisk(
        _ state: CustomerProfile,
        activity: ActivityState,
        reasons: UnsafeMutablePointer<[String]>?
    )
        -> Rules.Level
    {
        let churn = rules.churnRisk
        let since = state.asOf - Int64(churn.windowDays) * Self.day
        var risk = Rules.Level.low
        if state.lastHighSignalAt != .min, state.lastHighSignalAt >= since {
            risk = .high
            if let reasons {
                let name = churn.highSignals[safe: Int(state.lastHighSignal)] ?? "high"
                reasons.pointee.append("\(name) signal on \(Self.day(state.lastHighSignalAt)) → high")
            }
        }
        if state.lastMediumSignalAt != .min, state.lastMediumSignalAt >= since {
            risk = max(risk, .medium)
            if let reasons {
                let name = churn.mediumSignals[safe: Int(state.lastMediumSignal)] ?? "medium"
                reasons.pointee.append("\(name) signal on \(Self.day(state.lastMediumSignalAt)) → medium")
            }
        }
        let complaints = state.complaints.count { $0 >= since }
        if complaints >= churn.highComplaints {
            risk = .high
            reasons?.pointee.append(
                "\(complaints) complaints in \(churn.windowDays) days ≥ \(churn.highComplaints) → high"
            )
        } else if complaints >= churn.mediumComplaints {
            risk = max(risk, .medium)
            reasons?.pointee.append(
                "\(complaints) complaint\(complaints == 1 ? "" : "s") in \(churn.windowDays) days ≥ \(churn.mediumComplaints) → medium"
            )
        }
        switch activity {
        case .active: break
        case .cooling:
            risk = max(risk, churn.whenCooling)
            reasons?.pointee.append("cooling → \(churn.whenCooling.rawValue)")
        case .inactive:
            risk = max(risk, churn.whenInactive)
            reasons?.pointee.append("inactive → \(churn.whenInactive.rawValue)")
        }
        if let reasons, reasons.pointee.isEmpty { reasons.pointee.append("no churn signal, complaint or inactivity") }
        return risk
    }

    /// The customer's segment when anything in it changed since the last published one (or
    /// there is none yet and the profile is known); the state then records it as published.
    ///
    /// - Returns: nil when nothing changed, or before the customer's first profile.
    public func segment(of state: inout CustomerProfile, customerId: String) -> CustomerSegment? {
        guard state.hasProfile else { return nil }
        let first = state.version == 0
        let previous = state.published
        let b = evaluate(state, previousTier: first ? nil : previous.tier)
        let now = b.evaluation
        if !first, now == previous { return nil }

        var changed: [String] = []
        var reasons: [String] = []
        let policy = rules.servicePolicy[now.tier]
        let scoreChanged = first || now.scoreTenths != previous.scoreTenths
        let tierChanged = first || now.tier != previous.tier
        if tierChanged { changed.append("tier") }
        if scoreChanged { changed.append("score") }
        if first || now.arpuCents != previous.arpuCents { changed.append("arpu") }
        if first || now.regionCode != previous.regionCode || now.regionClass != previous.regionClass {
            changed.append("region")
        }
        if first || now.rfm != previous.rfm { changed.append("rfm") }
        if first || policy != rules.servicePolicy[previous.tier] { changed.append("servicePolicy") }
        if first || now.activity != previous.activity { changed.append("activity") }
        if first || now.churnRisk != previous.churnRisk { changed.append("churnRisk") }
        if first || now.tenureBand != previous.tenureBand { changed.append("tags.tenure") }
        if first || now.spendBand != previous.spendBand { changed.append("tags.spend") }
        if first || now.loyaltyBand != previous.loyaltyBand { changed.append("tags.loyalty") }
        if first || now.activity != previous.activity { changed.append("tags.activity") }
        if first || now.productsBand != previous.productsBand { changed.append("tags.products") }

        if first { reasons.append("first segment of the customer") }
        if scoreChanged || tierChanged || changed.contains("arpu") || changed.contains("region") {
            reasons.append(scoreReason(b, previousTier: first ? nil : previous.tier))
        }
        if changed.contains("rfm") { reasons.append(rfmReason(b)) }
        if changed.contains("servicePolicy") { reasons.append(policyReason(now.tier, policy)) }
        if changed.contains("activity") { reasons.append(activityReason(b)) }
        if changed.contains("churnRisk") {
            var why: [String] = []
            _ = withUnsafeMutablePointer(to: &why) { churnRisk(state, activity: now.activity, reasons: $0) }
            reasons.append("churn risk \(now.churnRisk.rawValue): " + why.joined(separator: "; "))
        }
        if changed.contains(where: { $0.hasPrefix("tags.") }) { reasons.append(tagsReason(b)) }

        state.version += 1
        state.published = now
        return CustomerSegment(
            customerId: customerId,
            version: Int(state.version),
            asOf: Timestamp.date(millisecondsSince1970: state.asOf),
            tier: now.tier,
            score: b.score,
            arpu: now.arpuCents >= 0 ? Double(now.arpuCents) / 100 : nil,
            region: state.region.isEmpty ? nil : state.region,
            regionClass: b.regionClass,
            regionCoefficient: b.regionCoefficient,
            rfm: b.rfm,
            servicePolicy: policy,
            activity: now.activity,
            churnRisk: now.churnRisk,
            tags: b.tags,
            changed: changed,
            reasons: reasons
        )
    }

    // MARK: - Timers

    /// The earliest event time after the customer's `asOf` at which time alone can change the
    /// segment: an activity threshold, a churn signal or complaint leaving its window, the RFM
    /// recency score dropping, a bill or purchase leaving the RFM window. Nil when none.
    public func nextDeadline(_ state: CustomerProfile) -> Int64? {
        guard state.hasProfile else { return nil }
        let asOf = state.asOf
        var next = Int64.max
        func consider(_ time: Int64) {
            if time > asOf, time < next { next = time }
        }
        if state.lastActivityAt != .min {
            consider(state.lastActivityAt + Int64(rules.activity.activeMaxDays) * Self.day + 1)
            consider(state.lastActivityAt + Int64(rules.activity.coolingMaxDays) * Self.day + 1)
        }
        let churnWindow = Int64(rules.churnRisk.windowDays) * Self.day + 1
        if state.lastHighSignalAt != .min { consider(state.lastHighSignalAt + churnWindow) }
        if state.lastMediumSignalAt != .min { consider(state.lastMediumSignalAt + churnWindow) }
        for complaint in state.complaints { consider(complaint + churnWindow) }
        if let last = state.transactions.last {
            for days in rules.rfm.recencyMaxDays { consider(last.at + Int64(days + 1) * Self.day) }
            let window = Int64(rules.rfm.windowDays) * Self.day + 1
            if let oldest = state.transactions.first(where: { $0.at + window > asOf }) {
                consider(oldest.at + window)
            }
        }
        return next == .max ? nil : next
    }

    // MARK: - Reasons

    private func scoreReason(_ b: Breakdown, previousTier: Rules.Tier?) -> String {
        let tiers = rules.tiers
        let tier = b.evaluation.tier
        let score = Self.decimal(b.score, 1)
        let verdict: String
        let plain: Rules.Tier = b.score >= tiers.highMinScore ? .high : b.score >= tiers.midMinScore ? .mid : .low
        if let previousTier, previousTier == tier, plain != tier {
            let threshold = tier == .high || plain == .high ? texts.high : texts.mid
            verdict =
                "score \(score) within the \(texts.hysteresis)-point hysteresis of \(threshold) → stays \(tier.rawValue)"
        } else {
            switch tier {
            case .high: verdict = "score \(score) ≥ \(texts.high) → high"
            case .mid: verdict = "score \(score) ≥ \(texts.mid) and < \(texts.high) → mid"
            case .low: verdict = "score \(score) < \(texts.mid) → low"
            }
        }
        let weights = texts.weights
        let arpu =
            b.arpu.map { "ARPU \(Self.decimal($0, 2)) over \(b.billsInARPU) bill\(b.billsInARPU == 1 ? "" : "s")" }
            ?? "no bill yet"
        let tenure = b.tenureYears.map { "tenure \(Self.decimal($0, 1)) years" } ?? "tenure unknown"
        let coefficient = texts.coefficients[b.regionClass] ?? Self.decimal(b.regionCoefficient, 2, trim: true)
        return "\(arpu); region \(b.regionClass) coefficient \(coefficient); "
            + "points: ARPU \(Self.decimal(b.arpuPoints, 1))/\(weights.arpu), "
            + "credit \(Self.decimal(b.creditPoints, 1))/\(weights.credit), "
            + "influence \(Self.decimal(b.influencePoints, 1))/\(weights.influence), "
            + "\(tenure) \(Self.decimal(b.tenurePoints, 1))/\(weights.tenure); \(verdict)"
    }

    private func rfmReason(_ b: Breakdown) -> String {
        guard let rfm = b.rfm else { return "RFM: no bill or purchase yet" }
        return "RFM \(rfm.recency)-\(rfm.frequency)-\(rfm.monetary) → \(rfm.segmentName) "
            + "(last bill or purchase \(b.recencyDays) days ago; \(b.frequencyCount) in \(rules.rfm.windowDays) days "
            + "totalling \(Self.decimal(Double(b.monetaryCents) / 100, 2)))"
    }

    private func policyReason(_ tier: Rules.Tier, _ policy: Rules.Segmentation.ServicePolicy) -> String {
        var parts = ["queue \(policy.queue)", "priority \(policy.priority)"]
        if policy.dedicatedAccountManager { parts.append("dedicated account manager") }
        if policy.crossRegionService { parts.append("cross-region service") }
        return "tier \(tier.rawValue) → " + parts.joined(separator: ", ")
    }

    private func activityReason(_ b: Breakdown) -> String {
        let activity = rules.activity
        switch b.evaluation.activity {
        case .active:
            return
                "last contact, bill or purchase \(b.activityDays) days ago, within \(activity.activeMaxDays) → active"
        case .cooling:
            return
                "last contact, bill or purchase \(b.activityDays) days ago, more than \(activity.activeMaxDays) → cooling"
        case .inactive:
            return
                "last contact, bill or purchase \(b.activityDays) days ago, more than \(activity.coolingMaxDays) → inactive"
        }
    }

    private func tagsReason(_ b: Breakdown) -> String {
        let tenure = b.tenureYears.map { " (\(Self.decimal($0, 1)) years)" } ?? ""
        let spend = b.arpu.map { " (ARPU \(Self.decimal($0, 2)))" } ?? ""
        return "tags: tenure \(b.tags.tenure)\(tenure), spend \(b.tags.spend)\(spend), "
            + "loyalty \(b.tags.loyalty), activity \(b.tags.activity), "
            + "products \(b.tags.products) (\(b.productsHeld) held)"
    }

    // MARK: - Helpers

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    static func cents(_ amount: Double) throws(ProcessingFailure) -> Int32 {
        guard amount <= maxAmount else {
            throw ProcessingFailure(
                reason: "invalid",
                message: "amount: must be at most \(Int(maxAmount)) per bill or purchase"
            )
        }
        return Int32((amount * 100).rounded(.toNearestOrAwayFromZero))
    }

    /// `YYYY-MM` (validated) as `year × 12 + month − 1`.
    static func period(_ text: String) -> Int32 {
        let bytes = Array(text.utf8)
        func digit(_ index: Int) -> Int32 { Int32(bytes[index]) - 0x30 }
        let year = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3)
        let month = digit(5) * 10 + digit(6)
        return year * 12 + month - 1
    }

    static func day(_ millis: Int64) -> String {
        String((Timestamp.format(Timestamp.date(millisecondsSince1970: millis)) ?? "").prefix(10))
    }

    /// `value` with `places` (0–6) decimals, halves away from zero; `trim` drops trailing zeros
    /// (1.30 → 1.3). Digits written into a small buffer: `String(format:)` costs microseconds a call.
    static func decimal(_ value: Double, _ places: Int, trim: Bool = false) -> String {
        guard value.isFinite, abs(value) < 1e15, (0...6).contains(places) else { return "\(value)" }
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        var scaled = Int64((abs(value) * Double(scale)).rounded(.toNearestOrAwayFromZero))
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var end = 32
            var digits = 0
            var dropping = trim
            // Fraction digits, last first.
            while digits < places {
                let digit = UInt8(scaled % 10)
                scaled /= 10
                digits += 1
                if dropping, digit == 0 { continue }
                dropping = false
                end -= 1
                buffer[end] = 0x30 + digit
            }
            if end < 32 {
                end -= 1
                buffer[end] = UInt8(ascii: ".")
            }
            repeat {
                end -= 1
                buffer[end] = 0x30 + UInt8(scaled % 10)
                scaled /= 10
            } while scaled > 0
            if value < 0, buffer[end..<32].contains(where: { $0 > 0x30 && $0 <= 0x39 }) {
                end -= 1
                buffer[end] = UInt8(ascii: "-")
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[end..<32]), as: UTF8.self)
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

extension Segmenter {
    /// ``decimal(_:_:trim:)``, for the tests.
    public static func decimalForTests(_ value: Double, _ places: Int, trim: Bool = false) -> String {
        decimal(value, places, trim: trim)
    }
}
