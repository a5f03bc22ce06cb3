public import Models
public import ServiceKit

/// `tandem-segmentation`: who each customer is, and what service they earn (SPEC §3).
///
/// The runtime is in place — it subscribes to `cs.accounts` and `cs.interactions`, restores
/// per-customer state from `cs.segmentation.customers`, serves health and metrics, shuts down
/// cleanly. The segmentation rules are the segmentation issue's work and are not here yet.
public final class SegmentationProcessor: RecordProcessor, @unchecked Sendable {
    public let inputTopics: [String]
    /// Per-customer profile state, by customer id (JSON until the segmentation issue defines it).
    public let customers: KeyedStateStore<[String: Double]>
    public var stores: [any StateStore] { [customers] }
    let rules: Rules

    public init(configuration: ServiceConfiguration, rules: Rules) {
        inputTopics = [configuration.topic(Topics.accounts), configuration.topic(Topics.interactions)]
        customers = KeyedStateStore(
            name: "customers",
            changelogTopic: configuration.topic(Topics.changelog(service: "segmentation", store: "customers"))
        )
        self.rules = rules
    }

    public func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {}
}
