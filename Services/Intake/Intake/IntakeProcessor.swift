public import Models
public import ServiceKit

/// `tandem-intake`: every channel in, one clean stream out (SPEC §1–2).
///
/// The runtime is in place — it subscribes to `cs.interactions.raw`, restores its dedup window
/// from `cs.intake.dedup` on assignment, serves health and metrics, shuts down cleanly. The
/// validation, normalisation, masking and deduplication are the intake issue's work and are not
/// here yet: records are consumed and acknowledged without output.
public final class IntakeProcessor: RecordProcessor, @unchecked Sendable {
    public let inputTopics: [String]
    /// Event ids seen in the last 24 h of event time → their event time (ms).
    public let dedup: KeyedStateStore<Int64>
    public var stores: [any StateStore] { [dedup] }
    let rules: Rules

    public init(configuration: ServiceConfiguration, rules: Rules) {
        inputTopics = [configuration.topic(Topics.interactionsRaw)]
        dedup = KeyedStateStore(
            name: "dedup",
            changelogTopic: configuration.topic(Topics.changelog(service: "intake", store: "dedup"))
        )
        self.rules = rules
    }

    public func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {}
}
