/// Every business rule of Tandem (SPEC §3–§5) in one value: thresholds, weights, region
/// coefficients, contact policy, KPI definitions.
///
/// Every service reads its rules at start from the YAML file named by `TANDEM_RULES`, or uses
/// ``defaults`` when the variable is not set (see `Rules.load(path:)` in ServiceKit). The shipped
/// `rules/tandem-rules.yaml` documents every key and equals ``defaults``.
///
/// Durations carry their unit in the key name (`graceSeconds`, `windowDays`), amounts are in the
/// account currency (CNY by default), scores are points on 0–100.
public struct Rules: Codable, Sendable, Hashable {
    /// Customer value, region, tiers, activity, churn risk and tags (SPEC §3).
    public var segmentation: Segmentation
    /// Opportunities, contact policy, propensity and risk level (SPEC §4).
    public var leads: Leads
    /// KPI windows, definitions, the opinion report and alerts (SPEC §5).
    public var kpi: KPI
    /// How event time moves on when a partition is quiet (SPEC §3, §5).
    public var eventTime: EventTime

    /// Dotted paths of the mappings whose keys are data (region codes, region class names), not
    /// rule names.
    ///
    /// A rules file adds entries to these mappings (or replaces the value of an entry), where any
    /// other mapping rejects a key it does not know as a typo.
    public static let extensibleMappings: Set<String> = [
        "segmentation.regions.classes",
        "segmentation.regions.codes",
    ]

    /// Checks every value: ranges, orderings (a mid tier below the high tier, thresholds
    /// ascending), sums (value weights add up to 100), cross references (region codes name a
    /// class that exists) and the KPI time zone.
    ///
    /// - Throws: ``RulesError`` naming the dotted key of the first bad value and what is wrong.
    public func validate() throws(RulesError) {
        try segmentation.validate(at: "segmentation")
        try leads.validate(at: "leads")
        try kpi.validate(at: "kpi")
        try eventTime.validate(at: "eventTime")
    }
}

/// A bad value in ``Rules``: which key and what is wrong with it.
public struct RulesError: Error, Hashable, CustomStringConvertible {
    /// The dotted path of the key, as written in the rules file: `leads.contact.caps.high`,
    /// `segmentation.rfm.segments[2].recency.min` (list positions count from 0).
    public var key: String
    /// What is wrong with its value, for an operator.
    public var problem: String

    /// Creates an error for `key`.
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    /// The key and the problem, `key: problem`.
    public var description: String { "\(key): \(problem)" }
}

extension Rules {
    /// A customer tier (SPEC §3), from the composite value score.
    public enum Tier: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
        case low, mid, high

        /// Decodes the raw value; a value that is none of the cases names the allowed ones.
        public init(from decoder: any Decoder) throws {
            self = try decodeCase(from: decoder)
        }

        /// Orders low < mid < high.
        public static func < (lhs: Tier, rhs: Tier) -> Bool { lhs.rank < rhs.rank }

        private var rank: Int {
            switch self {
            case .low: 0
            case .mid: 1
            case .high: 2
            }
        }
    }

    /// A risk level: churn risk of a customer (SPEC §3).
    public enum Level: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
        case low, medium, high

        /// Decodes the raw value; a value that is none of the cases names the allowed ones.
        public init(from decoder: any Decoder) throws {
            self = try decodeCase(from: decoder)
        }

        /// Orders low < medium < high.
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rank < rhs.rank }

        private var rank: Int {
            switch self {
            case .low: 0
            case .medium: 1
            case .high: 2
            }
        }
    }

    /// One value per tier, written `{high: …, mid: …, low: …}`.
    public struct PerTier<Value: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
        /// The high tier's value.
        public var high: Value
        /// The mid tier's value.
        public var mid: Value
        /// The low tier's value.
        public var low: Value

        /// Creates the three values.
        public init(high: Value, mid: Value, low: Value) {
            self.high = high
            self.mid = mid
            self.low = low
        }

        /// The value of `tier`.
        public subscript(tier: Tier) -> Value {
            get {
                switch tier {
                case .high: high
                case .mid: mid
                case .low: low
                }
            }
            set {
                switch tier {
                case .high: high = newValue
                case .mid: mid = newValue
                case .low: low = newValue
                }
            }
        }
    }

    /// How event time moves on when a partition is quiet.
    public struct EventTime: Codable, Sendable, Hashable {
        /// After this many seconds without records, an input partition's event time follows the
        /// wall clock, so activity transitions and final KPI snapshots still happen on a quiet night.
        public var idleTimeoutSeconds: Double

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).idleTimeoutSeconds", idleTimeoutSeconds, 1...3600)
        }
    }
}

/// Decodes an enum from its raw value with a message that lists the allowed values.
private func decodeCase<T: RawRepresentable & CaseIterable>(from decoder: any Decoder) throws -> T
where T.RawValue == String {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    guard let value = T(rawValue: text) else {
        let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
        throw DecodingError.dataCorruptedError(
            in: container,
            debugDescription: "expected one of \(allowed), found '\(text)'"
        )
    }
    return value
}
