public import Models
public import ServiceKit

/// `tandem-leads`: leads born in service moments, guarded by a contact policy (SPEC §4).
///
/// The runtime is in place — it subscribes to `cs.interactions`, `cs.accounts`, `cs.segments`,
/// `cs.catalog` and `cs.lead-outcomes`, restores per-customer state from `cs.leads.customers`,
/// serves health and metrics, shuts down cleanly. The opportunities and the contact policy are
/// the lead-handoff issue's work and are not here yet.
public final class LeadsProcessor: RecordProcessor, @unchecked Sendable {
    public let inputTopics: [String]
    /// Per-customer contact history and open leads, by customer id (shape set by the leads issue).
    public let customers: KeyedStateStore<[String: Double]>
    public var stores: [any StateStore] { [customers] }
    let rules: Rules

    public init(configuration: ServiceConfiguration, rules: Rules) {
        inputTopics = [Topics.interactions, Topics.accounts, Topics.segments, Topics.catalog, Topics.leadOutcomes].map(
            configuration.topic
        )
        customers = KeyedStateStore(
            name: "customers",
            changelogTopic: configuration.topic(Topics.changelog(service: "leads", store: "customers"))
        )
        self.rules = rules
    }

    public func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {}
}
