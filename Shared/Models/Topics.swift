/// A topic of the suite: its name, how it is keyed, and how the cluster keeps it (SPEC §1).
public struct TopicSpec: Sendable, Hashable {
    /// The default name (without the deployment's prefix).
    public var name: String
    /// What the record key is.
    public var key: String
    /// True for topics keyed by customer: they must all have the same partition count, so that a
    /// customer's records land on the same partition number everywhere (murmur2 partitioning).
    public var customerKeyed: Bool
    /// `cleanup.policy=compact` (latest value per key is kept) rather than time-based deletion.
    public var compacted: Bool
    /// Retention in days for `cleanup.policy=delete` topics.
    public var retentionDays: Int?
    /// True for a service's internal changelog or repartition topic (`cs.<service>.<store>`).
    public var isInternal: Bool

    /// The topic configs to create it with on a real cluster.
    public var configs: [String: String] {
        if compacted { return ["cleanup.policy": "compact"] }
        var configs = ["cleanup.policy": "delete"]
        if let retentionDays { configs["retention.ms"] = String(retentionDays * 24 * 3600 * 1000) }
        return configs
    }
}

/// Every topic the suite uses, in one place.
public enum Topics {
    public static let interactionsRaw = TopicSpec(
        name: "cs.interactions.raw",
        key: "customerId, else eventId",
        customerKeyed: true,
        compacted: false,
        retentionDays: 7,
        isInternal: false
    )
    public static let accounts = TopicSpec(
        name: "cs.accounts",
        key: "customerId",
        customerKeyed: true,
        compacted: false,
        retentionDays: 35,
        isInternal: false
    )
    public static let catalog = TopicSpec(
        name: "cs.catalog",
        key: "productId",
        customerKeyed: false,
        compacted: true,
        retentionDays: nil,
        isInternal: false
    )
    public static let interactions = TopicSpec(
        name: "cs.interactions",
        key: "customerId, else eventId",
        customerKeyed: true,
        compacted: false,
        retentionDays: 7,
        isInternal: false
    )
    public static let segments = TopicSpec(
        name: "cs.segments",
        key: "customerId",
        customerKeyed: true,
        compacted: true,
        retentionDays: nil,
        isInternal: false
    )
    public static let leads = TopicSpec(
        name: "cs.leads",
        key: "customerId",
        customerKeyed: true,
        compacted: false,
        retentionDays: 30,
        isInternal: false
    )
    public static let leadOutcomes = TopicSpec(
        name: "cs.lead-outcomes",
        key: "customerId",
        customerKeyed: true,
        compacted: false,
        retentionDays: 30,
        isInternal: false
    )
    /// Triggers the contact policy stopped (SPEC §4), for the KPI service's "suppressed by reason".
    public static let leadSuppressions = TopicSpec(
        name: "cs.lead-suppressions",
        key: "customerId",
        customerKeyed: true,
        compacted: false,
        retentionDays: 30,
        isInternal: false
    )
    public static let kpi = TopicSpec(
        name: "cs.kpi",
        key: "window/start/dimension/value",
        customerKeyed: false,
        compacted: true,
        retentionDays: nil,
        isInternal: false
    )
    public static let opinionReport = TopicSpec(
        name: "cs.opinion-report",
        key: "hour start",
        customerKeyed: false,
        compacted: true,
        retentionDays: nil,
        isInternal: false
    )
    public static let alerts = TopicSpec(
        name: "cs.alerts",
        key: "alert id",
        customerKeyed: false,
        compacted: false,
        retentionDays: 30,
        isInternal: false
    )
    /// The KPI service's internal topic between its stages: one input partition's counters of a
    /// window (`<size>/<start>`, hours `hour`) or its watermark (`watermark/<partition>`, sent to
    /// every partition). As many partitions as the customer-keyed inputs; 7 days cover the day
    /// windows' 48 h grace.
    public static let kpiPartials = TopicSpec(
        name: "cs.kpi.partials",
        key: "window (<size>/<start>, or hour) or watermark/<partition>",
        customerKeyed: true,
        compacted: false,
        retentionDays: 7,
        isInternal: true
    )
    public static let deadLetter = TopicSpec(
        name: "cs.deadletter",
        key: "original key",
        customerKeyed: false,
        compacted: false,
        retentionDays: 30,
        isInternal: false
    )

    /// Which dead letters `tandem deadletters replay` has sent back (key `partition/offset` on the
    /// dead-letter topic), so a second replay skips them.
    public static let deadLetterReplays = TopicSpec(
        name: "cs.deadletter.replays",
        key: "dead letter partition/offset",
        customerKeyed: false,
        compacted: true,
        retentionDays: nil,
        isInternal: false
    )

    /// The topics of SPEC §1, in its order (plus `cs.lead-suppressions`, which the spec implies).
    public static let spec: [TopicSpec] = [
        interactionsRaw, accounts, catalog, interactions, segments, leads, leadOutcomes, leadSuppressions, kpi,
        opinionReport, alerts, deadLetter,
    ]

    /// The services' internal state changelogs `cs.<service>.<store>`, partitioned like the
    /// customer-keyed inputs they are derived from: compacted, but for intake's dedup window.
    public static let changelogs: [TopicSpec] = [
        intakeDedupChangelog,
        changelog(service: "segmentation", store: "customers"),
        changelog(service: "leads", store: "customers"),
        changelog(service: "kpi", store: "windows"),
        changelog(service: "kpi", store: "customers"),
        changelog(service: "kpi", store: "marks"),
        changelog(service: "kpi", store: "merge"),
    ]

    /// Each service's input topics, by service name (`intake`, `segmentation`, `leads`, `kpi`): what
    /// its consumer group reads, so also what "caught up" is measured against.
    public static let inputs: [String: [TopicSpec]] = [
        "intake": [interactionsRaw],
        "segmentation": [accounts, interactions],
        "leads": [interactions, accounts, segments, leadOutcomes],
        "kpi": [interactions, segments, leads, leadOutcomes, leadSuppressions, kpiPartials],
    ]

    /// Operations' own topics.
    public static let operations: [TopicSpec] = [deadLetterReplays]

    /// Every topic the suite needs.
    public static let all: [TopicSpec] = spec + [kpiPartials] + changelogs + operations

    /// Intake's deduplication window (24 h of event ids): one record per partition and batch with
    /// the ids it added, deleted by age — two days, the window and a day's slack for a backlog —
    /// instead of compacted per-id records and tombstones.
    public static let intakeDedupChangelog = TopicSpec(
        name: "cs.intake.dedup",
        key: "none (one record per batch and partition)",
        customerKeyed: true,
        compacted: false,
        retentionDays: 2,
        isInternal: true
    )

    /// The changelog topic of a service's state store.
    public static func changelog(service: String, store: String) -> TopicSpec {
        TopicSpec(
            name: "cs.\(service).\(store)",
            key: "store key",
            customerKeyed: true,
            compacted: true,
            retentionDays: nil,
            isInternal: true
        )
    }
}
