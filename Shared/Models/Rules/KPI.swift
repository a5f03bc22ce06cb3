import Foundation

extension Rules {
    /// KPI windows, definitions, the opinion report and alerts (SPEC §5).
    public struct KPI: Codable, Sendable, Hashable {
        /// The IANA time zone of day boundaries, e.g. `Asia/Shanghai`.
        public var timeZone: String
        /// The grace and update throttle of each window size.
        public var windows: Windows
        /// An abandon after waiting less than this many seconds is a short abandon, left out of
        /// abandon rate and service level.
        public var shortAbandonSeconds: Double
        /// Service level counts contacts answered within this many seconds.
        public var serviceLevelSeconds: Double
        /// A contact is a repeat when the customer contacted about the same topic in this many
        /// previous days.
        public var repeatContactDays: Int
        /// The topic dimension keeps this many topics with the most contacts.
        public var topTopics: Int
        /// The 7×24 opinion report.
        public var opinion: Opinion
        /// Complaint and negative-mention spike alerts.
        public var alerts: Alerts

        func validate(at path: String) throws(RulesError) {
            if timeZone.isEmpty || TimeZone(identifier: timeZone) == nil {
                throw RulesError(
                    key: "\(path).timeZone",
                    problem: "is not a known IANA time zone (such as Asia/Shanghai): '\(timeZone)'"
                )
            }
            try windows.minute.validate(at: "\(path).windows.minute", seconds: 60)
            try windows.hour.validate(at: "\(path).windows.hour", seconds: 3600)
            try windows.day.validate(at: "\(path).windows.day", seconds: 86400)
            try RuleChecks.range("\(path).shortAbandonSeconds", shortAbandonSeconds, 0...60)
            try RuleChecks.range("\(path).serviceLevelSeconds", serviceLevelSeconds, 1...3600)
            try RuleChecks.range("\(path).repeatContactDays", repeatContactDays, 1...90)
            try RuleChecks.range("\(path).topTopics", topTopics, 1...100)
            try opinion.validate(at: "\(path).opinion")
            try alerts.validate(at: "\(path).alerts")
        }
    }
}

extension Rules.KPI {
    /// The three tumbling windows.
    public struct Windows: Codable, Sendable, Hashable {
        /// The 1-minute windows.
        public var minute: Window
        /// The 1-hour windows.
        public var hour: Window
        /// The 1-day windows, midnight to midnight in ``Rules/KPI/timeZone``.
        public var day: Window
    }

    /// One tumbling window size.
    public struct Window: Codable, Sendable, Hashable {
        /// Events up to this many seconds after the window's end still count; then the window
        /// publishes its final snapshot, and later events are dead-lettered as `late`.
        public var graceSeconds: Int
        /// While open, a window publishes an updated snapshot at most once per this many seconds
        /// (0: on every change).
        public var updateThrottleSeconds: Int

        func validate(at path: String, seconds: Int) throws(RulesError) {
            try RuleChecks.range("\(path).graceSeconds", graceSeconds, 0...7 * 86400)
            try RuleChecks.range("\(path).updateThrottleSeconds", updateThrottleSeconds, 0...seconds)
        }
    }

    /// The 7×24 opinion report.
    public struct Opinion: Codable, Sendable, Hashable {
        /// A mention with sentiment within ±this is neutral; above, positive; below, negative.
        public var neutralBand: Double
        /// The report lists this many topics with the most negative mentions.
        public var topNegativeTopics: Int

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).neutralBand", neutralBand, 0...0.99)
            try RuleChecks.range("\(path).topNegativeTopics", topNegativeTopics, 1...100)
        }
    }

    /// Complaint and negative-mention spikes.
    public struct Alerts: Codable, Sendable, Hashable {
        /// Alert when the last hour's count exceeds this many times the trailing hourly mean…
        public var factor: Double
        /// …and is at least this many.
        public var minimumCount: Int
        /// The trailing mean is over this many hours before the last one.
        public var trailingHours: Int

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).factor", factor, 1...100)
            try RuleChecks.range("\(path).minimumCount", minimumCount, 1...1_000_000)
            try RuleChecks.range("\(path).trailingHours", trailingHours, 2...168)
        }
    }
}
