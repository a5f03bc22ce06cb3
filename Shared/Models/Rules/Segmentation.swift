extension Rules {
    /// Customer value, region, tiers, activity, churn risk and tags (SPEC §3).
    public struct Segmentation: Codable, Sendable, Hashable {
        /// How ARPU is averaged.
        public var arpu: ARPU
        /// RFM scores and the named segments.
        public var rfm: RFM
        /// The composite value score.
        public var value: Value
        /// Region classes and their economic coefficients.
        public var regions: Regions
        /// Tier thresholds on the value score.
        public var tiers: Tiers
        /// The service each tier earns.
        public var servicePolicy: PerTier<ServicePolicy>
        /// Active, cooling and inactive.
        public var activity: Activity
        /// Churn risk rules.
        public var churnRisk: ChurnRisk
        /// Tag axes and their bands.
        public var tags: Tags

        func validate(at path: String) throws(RulesError) {
            try arpu.validate(at: "\(path).arpu")
            try rfm.validate(at: "\(path).rfm")
            try value.validate(at: "\(path).value")
            try regions.validate(at: "\(path).regions")
            try tiers.validate(at: "\(path).tiers")
            for tier in [Tier.high, .mid, .low] {
                try servicePolicy[tier].validate(at: "\(path).servicePolicy.\(tier.rawValue)")
            }
            if servicePolicy.high.priority > servicePolicy.mid.priority {
                throw RulesError(
                    key: "\(path).servicePolicy.high.priority",
                    problem:
                        "must not come after the mid tier's priority (\(servicePolicy.mid.priority)), is \(servicePolicy.high.priority); 1 is served first"
                )
            }
            if servicePolicy.mid.priority > servicePolicy.low.priority {
                throw RulesError(
                    key: "\(path).servicePolicy.mid.priority",
                    problem:
                        "must not come after the low tier's priority (\(servicePolicy.low.priority)), is \(servicePolicy.mid.priority); 1 is served first"
                )
            }
            try activity.validate(at: "\(path).activity")
            try churnRisk.validate(at: "\(path).churnRisk")
            try tags.validate(at: "\(path).tags")
        }
    }
}

extension Rules.Segmentation {
    /// Average revenue per user.
    public struct ARPU: Codable, Sendable, Hashable {
        /// ARPU is the mean amount of this many most recent bills.
        public var billCount: Int

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).billCount", billCount, 1...24)
        }
    }

    /// Recency, frequency and monetary scores 1–5 and the named segments they make.
    public struct RFM: Codable, Sendable, Hashable {
        /// Frequency and monetary count the bills and purchases of this many last days.
        public var windowDays: Int
        /// Four ascending day counts: days since the last bill or purchase at most the first score
        /// 5, at most the second 4, the third 3, the fourth 2; older scores 1.
        public var recencyMaxDays: [Int]
        /// Four ascending counts: bills plus purchases in the window at least the first score 2,
        /// the second 3, the third 4, the fourth 5; fewer score 1.
        public var frequencyMinCount: [Int]
        /// Four ascending amounts: the sum of bills and purchases in the window at least the first
        /// scores 2, the second 3, the third 4, the fourth 5; less scores 1.
        public var monetaryMinAmount: [Double]
        /// The named segments, in order: the first whose ranges hold all three scores wins.
        public var segments: [Segment]

        /// The recency score 1–5 of a customer whose last bill or purchase was `days` ago.
        public func recencyScore(days: Int) -> Int {
            for (index, maximum) in recencyMaxDays.enumerated() where days <= maximum { return 5 - index }
            return 1
        }

        /// The frequency score 1–5 of `count` bills and purchases in the window.
        public func frequencyScore(count: Int) -> Int {
            1 + frequencyMinCount.count { count >= $0 }
        }

        /// The monetary score 1–5 of `amount` spent in the window.
        public func monetaryScore(amount: Double) -> Int {
            1 + monetaryMinAmount.count { amount >= $0 }
        }

        /// The first segment whose ranges hold the three scores; nil only for scores outside 1–5
        /// (``Rules/validate()`` checks that the table covers every combination).
        public func segment(recency: Int, frequency: Int, monetary: Int) -> Segment? {
            segments.first {
                $0.recency.contains(recency) && $0.frequency.contains(frequency) && $0.monetary.contains(monetary)
            }
        }

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).windowDays", windowDays, 30...3650)
            try Self.fourThresholds("\(path).recencyMaxDays", recencyMaxDays.count)
            for (index, days) in recencyMaxDays.enumerated() {
                try RuleChecks.range("\(path).recencyMaxDays[\(index)]", days, 0...3650)
            }
            try RuleChecks.ascending("\(path).recencyMaxDays", recencyMaxDays) { "\($0)" }
            try Self.fourThresholds("\(path).frequencyMinCount", frequencyMinCount.count)
            for (index, count) in frequencyMinCount.enumerated() {
                try RuleChecks.range("\(path).frequencyMinCount[\(index)]", count, 1...100_000)
            }
            try RuleChecks.ascending("\(path).frequencyMinCount", frequencyMinCount) { "\($0)" }
            try Self.fourThresholds("\(path).monetaryMinAmount", monetaryMinAmount.count)
            for (index, amount) in monetaryMinAmount.enumerated() {
                try RuleChecks.above("\(path).monetaryMinAmount[\(index)]", amount, 0)
            }
            try RuleChecks.ascending("\(path).monetaryMinAmount", monetaryMinAmount, describe: RuleChecks.text)
            if segments.isEmpty {
                throw RulesError(key: "\(path).segments", problem: "must list at least one segment")
            }
            for (index, segment) in segments.enumerated() {
                try segment.validate(at: "\(path).segments[\(index)]")
            }
            try RuleChecks.unique("\(path).segments", segments, field: "id", \.id)
            try RuleChecks.unique("\(path).segments", segments, field: "name", \.name)
            for recency in 1...5 {
                for frequency in 1...5 {
                    for monetary in 1...5
                    where segment(recency: recency, frequency: frequency, monetary: monetary) == nil {
                        throw RulesError(
                            key: "\(path).segments",
                            problem:
                                "no segment holds recency \(recency), frequency \(frequency), monetary \(monetary): "
                                + "the table must name every combination of scores"
                        )
                    }
                }
            }
        }

        private static func fourThresholds(_ key: String, _ count: Int) throws(RulesError) {
            if count != 4 {
                throw RulesError(
                    key: key,
                    problem: "must list 4 thresholds (scores 1–5 lie between them), lists \(count)"
                )
            }
        }
    }

    /// A named RFM segment: the scores it holds.
    public struct Segment: Codable, Sendable, Hashable {
        /// A stable machine name for records and dashboards, e.g. `cant_lose`.
        public var id: String
        /// The name people read, e.g. `Can't Lose`.
        public var name: String
        /// The recency scores the segment holds.
        public var recency: ScoreRange
        /// The frequency scores the segment holds.
        public var frequency: ScoreRange
        /// The monetary scores the segment holds.
        public var monetary: ScoreRange

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.identifier("\(path).id", id)
            try RuleChecks.name("\(path).name", name)
            try recency.validate(at: "\(path).recency")
            try frequency.validate(at: "\(path).frequency")
            try monetary.validate(at: "\(path).monetary")
        }
    }

    /// Scores `min` through `max`, both included, within 1–5.
    public struct ScoreRange: Codable, Sendable, Hashable {
        /// The lowest score in the range, 1–5.
        public var min: Int
        /// The highest score in the range, 1–5, not below ``min``.
        public var max: Int

        /// Whether `score` lies in the range.
        public func contains(_ score: Int) -> Bool { min <= score && score <= max }

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).min", min, 1...5)
            try RuleChecks.range("\(path).max", max, 1...5)
            if min > max { throw RulesError(key: "\(path).min", problem: "must not be above max (\(max)), is \(min)") }
        }
    }

    /// The composite value score 0–100.
    public struct Value: Codable, Sendable, Hashable {
        /// Points of each part; they add up to 100.
        public var weights: Weights
        /// The region-adjusted monthly ARPU (ARPU ÷ the region's coefficient) that earns all the
        /// ARPU points; less earns a proportional share.
        public var arpuForFullPoints: Double
        /// The tenure in years that earns all the tenure points; less earns a proportional share.
        public var tenureYearsForFullPoints: Double

        /// The composite value score 0–100.
        ///
        /// - Parameters:
        ///   - arpu: the mean amount of the last bills, in the account currency per month.
        ///   - regionCoefficient: the coefficient of the customer's region class (see ``Regions``).
        ///   - creditScore: 0–100.
        ///   - influence: social influence, 0–100.
        ///   - tenureYears: years since the customer joined.
        public func score(
            arpu: Double,
            regionCoefficient: Double,
            creditScore: Double,
            influence: Double,
            tenureYears: Double
        ) -> Double {
            func share(_ value: Double, of full: Double) -> Double { Swift.min(1, Swift.max(0, value / full)) }
            return weights.arpu * share(arpu / regionCoefficient, of: arpuForFullPoints)
                + weights.credit * share(creditScore, of: 100)
                + weights.influence * share(influence, of: 100)
                + weights.tenure * share(tenureYears, of: tenureYearsForFullPoints)
        }

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).weights.arpu", weights.arpu, 0...100)
            try RuleChecks.range("\(path).weights.credit", weights.credit, 0...100)
            try RuleChecks.range("\(path).weights.influence", weights.influence, 0...100)
            try RuleChecks.range("\(path).weights.tenure", weights.tenure, 0...100)
            let sum = weights.arpu + weights.credit + weights.influence + weights.tenure
            if abs(sum - 100) > 1e-9 {
                throw RulesError(key: "\(path).weights", problem: "must add up to 100, not \(RuleChecks.text(sum))")
            }
            try RuleChecks.above("\(path).arpuForFullPoints", arpuForFullPoints, 0)
            try RuleChecks.range("\(path).tenureYearsForFullPoints", tenureYearsForFullPoints, 0.5...50)
        }
    }

    /// Points of each part of the value score.
    public struct Weights: Codable, Sendable, Hashable {
        /// Points for ARPU (region-adjusted).
        public var arpu: Double
        /// Points for the credit score.
        public var credit: Double
        /// Points for social influence.
        public var influence: Double
        /// Points for tenure.
        public var tenure: Double
    }

    /// Region classes, their economic coefficients, and which region code belongs to which class.
    public struct Regions: Codable, Sendable, Hashable {
        /// Class name → coefficient > 0. The ARPU part of the value score is divided by it, so the
        /// same spend counts for more where incomes are lower.
        public var classes: [String: Double]
        /// The class of a code that neither it, its prefecture nor its province is listed in ``codes``.
        public var defaultClass: String
        /// Six-digit mainland administrative-division code (GB/T 2260) → class name. A province
        /// (`XX0000`) or prefecture (`XXXX00`) entry covers the codes under it that are not listed.
        public var codes: [String: String]

        /// The class of region `code`: the code itself, else its prefecture `XXXX00`, else its
        /// province `XX0000`, else ``defaultClass``.
        public func regionClass(of code: String) -> String {
            if let regionClass = codes[code] { return regionClass }
            let digits = Array(code.utf8)
            if digits.count == 6, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                if let regionClass = codes[String(code.prefix(4)) + "00"] { return regionClass }
                if let regionClass = codes[String(code.prefix(2)) + "0000"] { return regionClass }
            }
            return defaultClass
        }

        /// The economic coefficient of region `code` (1 if its class were missing, which
        /// ``Rules/validate()`` rules out).
        public func coefficient(of code: String) -> Double {
            classes[regionClass(of: code)] ?? 1
        }

        func validate(at path: String) throws(RulesError) {
            if classes.isEmpty { throw RulesError(key: "\(path).classes", problem: "must name at least one class") }
            for (name, coefficient) in classes.sorted(by: { $0.key < $1.key }) {
                try RuleChecks.identifier("\(path).classes.\(name)", name)
                try RuleChecks.range("\(path).classes.\(name)", coefficient, 0.01...10)
            }
            if classes[defaultClass] == nil {
                throw RulesError(key: "\(path).defaultClass", problem: "names no class in classes: '\(defaultClass)'")
            }
            for (code, name) in codes.sorted(by: { $0.key < $1.key }) {
                let digits = Array(code.utf8)
                guard digits.count == 6, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                else {
                    throw RulesError(key: "\(path).codes.\(code)", problem: "is not a six-digit region code")
                }
                if classes[name] == nil {
                    throw RulesError(key: "\(path).codes.\(code)", problem: "names no class in classes: '\(name)'")
                }
            }
        }
    }

    /// Tier thresholds on the value score.
    public struct Tiers: Codable, Sendable, Hashable {
        /// A score at least this is high.
        public var highMinScore: Double
        /// A score at least this (and below ``highMinScore``) is mid; below it, low.
        public var midMinScore: Double
        /// A customer changes tier only when the score passes a threshold by this many points
        /// (up at ≥ threshold + hysteresis, down below threshold − hysteresis), so tiers do not
        /// flap around a threshold.
        public var hysteresisPoints: Double

        /// The tier of `score` for a customer whose tier was `previous` (nil for a new customer).
        public func tier(score: Double, previous: Rules.Tier?) -> Rules.Tier {
            let plain: Rules.Tier = score >= highMinScore ? .high : score >= midMinScore ? .mid : .low
            guard let previous, previous != plain else { return plain }
            let h = hysteresisPoints
            let holds: Bool
            switch previous {
            case .high: holds = score >= highMinScore - h
            case .mid: holds = score >= midMinScore - h && score < highMinScore + h
            case .low: holds = score < midMinScore + h
            }
            return holds ? previous : plain
        }

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).highMinScore", highMinScore, 1...100)
            try RuleChecks.range("\(path).midMinScore", midMinScore, 1...100)
            if midMinScore >= highMinScore {
                throw RulesError(
                    key: "\(path).midMinScore",
                    problem:
                        "must be below highMinScore (\(RuleChecks.text(highMinScore))), is \(RuleChecks.text(midMinScore))"
                )
            }
            try RuleChecks.range("\(path).hysteresisPoints", hysteresisPoints, 0...10)
            if 2 * hysteresisPoints >= highMinScore - midMinScore {
                throw RulesError(
                    key: "\(path).hysteresisPoints",
                    problem:
                        "must be less than half the gap between midMinScore and highMinScore, is \(RuleChecks.text(hysteresisPoints))"
                )
            }
        }
    }

    /// The service a tier earns.
    public struct ServicePolicy: Codable, Sendable, Hashable {
        /// The contact-center queue its customers are routed to.
        public var queue: String
        /// Whether each customer has a dedicated account manager.
        public var dedicatedAccountManager: Bool
        /// Routing priority, 1 (served first) to 9.
        public var priority: Int
        /// Whether any region's center serves the customer (not only the home region's).
        public var crossRegionService: Bool

        /// Makes a policy.
        public init(queue: String, dedicatedAccountManager: Bool, priority: Int, crossRegionService: Bool) {
            self.queue = queue
            self.dedicatedAccountManager = dedicatedAccountManager
            self.priority = priority
            self.crossRegionService = crossRegionService
        }

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.name("\(path).queue", queue)
            try RuleChecks.range("\(path).priority", priority, 1...9)
        }
    }

    /// Activity states by days since the last contact, bill or purchase.
    public struct Activity: Codable, Sendable, Hashable {
        /// At most this many days: active.
        public var activeMaxDays: Int
        /// At most this many days (and more than ``activeMaxDays``): cooling; more: inactive.
        public var coolingMaxDays: Int

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).activeMaxDays", activeMaxDays, 1...365)
            try RuleChecks.range("\(path).coolingMaxDays", coolingMaxDays, 2...3650)
            if coolingMaxDays <= activeMaxDays {
                throw RulesError(
                    key: "\(path).coolingMaxDays",
                    problem: "must be above activeMaxDays (\(activeMaxDays)), is \(coolingMaxDays)"
                )
            }
        }
    }

    /// Churn risk low / medium / high: the highest level any rule gives.
    public struct ChurnRisk: Codable, Sendable, Hashable {
        /// Signals and complaints count over this many last days.
        public var windowDays: Int
        /// Any of these interaction signals in the window: high.
        public var highSignals: [String]
        /// Any of these interaction signals in the window: medium.
        public var mediumSignals: [String]
        /// At least this many complaints in the window: high.
        public var highComplaints: Int
        /// At least this many complaints in the window: medium.
        public var mediumComplaints: Int
        /// The risk of a cooling customer.
        public var whenCooling: Rules.Level
        /// The risk of an inactive customer.
        public var whenInactive: Rules.Level

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).windowDays", windowDays, 1...365)
            for (index, signal) in highSignals.enumerated() {
                try RuleChecks.token("\(path).highSignals[\(index)]", signal)
            }
            for (index, signal) in mediumSignals.enumerated() {
                try RuleChecks.token("\(path).mediumSignals[\(index)]", signal)
                if highSignals.contains(signal) {
                    throw RulesError(
                        key: "\(path).mediumSignals[\(index)]",
                        problem: "'\(signal)' is already in highSignals"
                    )
                }
            }
            try RuleChecks.range("\(path).mediumComplaints", mediumComplaints, 1...1000)
            try RuleChecks.range("\(path).highComplaints", highComplaints, 1...1000)
            if highComplaints <= mediumComplaints {
                throw RulesError(
                    key: "\(path).highComplaints",
                    problem: "must be above mediumComplaints (\(mediumComplaints)), is \(highComplaints)"
                )
            }
            if whenInactive < whenCooling {
                throw RulesError(
                    key: "\(path).whenInactive",
                    problem: "must not be below whenCooling (\(whenCooling.rawValue)), is \(whenInactive.rawValue)"
                )
            }
        }
    }

    /// Tag axes with bands.
    public struct Tags: Codable, Sendable, Hashable {
        /// Bands of years since joining.
        public var tenureYears: [Band]
        /// Bands of ARPU (account currency per month, not region-adjusted).
        public var monthlySpend: [Band]
        /// Bands of loyalty points.
        public var loyaltyPoints: [Band]
        /// Bands of the number of distinct products held: products purchased and the current plan.
        public var productsHeld: [Band]

        func validate(at path: String) throws(RulesError) {
            try Band.validate(tenureYears, at: "\(path).tenureYears")
            try Band.validate(monthlySpend, at: "\(path).monthlySpend")
            try Band.validate(loyaltyPoints, at: "\(path).loyaltyPoints")
            try Band.validate(productsHeld, at: "\(path).productsHeld")
        }
    }

    /// A band of a tag axis: values from ``atLeast`` up to the next band's.
    public struct Band: Codable, Sendable, Hashable {
        /// The tag value, e.g. `1_to_3y`.
        public var name: String
        /// The lowest value in the band; the first band starts at 0.
        public var atLeast: Double

        /// The band `value` falls in: the last whose ``atLeast`` it reaches (the first for less).
        public static func band(of value: Double, in bands: [Band]) -> Band? {
            bands.last { value >= $0.atLeast } ?? bands.first
        }

        static func validate(_ bands: [Band], at path: String) throws(RulesError) {
            if bands.isEmpty { throw RulesError(key: path, problem: "must list at least one band") }
            for (index, band) in bands.enumerated() {
                try RuleChecks.token("\(path)[\(index)].name", band.name)
                try RuleChecks.range("\(path)[\(index)].atLeast", band.atLeast, 0...1e12)
            }
            if bands[0].atLeast != 0 {
                throw RulesError(key: "\(path)[0].atLeast", problem: "must be 0, so that every value has a band")
            }
            for index in bands.indices.dropFirst() where bands[index].atLeast <= bands[index - 1].atLeast {
                throw RulesError(
                    key: "\(path)[\(index)].atLeast",
                    problem:
                        "must be above the band before it (\(RuleChecks.text(bands[index - 1].atLeast))), is \(RuleChecks.text(bands[index].atLeast))"
                )
            }
            try RuleChecks.unique(path, bands, field: "name", \.name)
        }
    }
}
