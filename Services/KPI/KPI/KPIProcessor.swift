public import Models
public import ServiceKit

/// `tandem-kpi`: the numbers managers and wallboards watch, and the 7×24 opinion report (SPEC §5).
///
/// The runtime is in place — it subscribes to `cs.interactions`, `cs.segments`, `cs.leads` and
/// `cs.lead-outcomes`, restores its windows from `cs.kpi.windows`, serves health and metrics,
/// shuts down cleanly. Windows, KPIs, the opinion report and alerts are the KPI issue's work and
/// are not here yet.
public final class KPIProcessor: RecordProcessor, @unchecked Sendable {
    public let inputTopics: [String]
    /// Open windows' additive counters, by window key (shape set by the KPI issue).
    public let windows: KeyedStateStore<[String: Double]>
    public var stores: [any StateStore] { [windows] }
    let rules: Rules

    public init(configuration: ServiceConfiguration, rules: Rules) {
        inputTopics = [Topics.interactions, Topics.segments, Topics.leads, Topics.leadOutcomes].map(configuration.topic)
        windows = KeyedStateStore(
            name: "windows",
            changelogTopic: configuration.topic(Topics.changelog(service: "kpi", store: "windows"))
        )
        self.rules = rules
    }

    public func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {}
}
