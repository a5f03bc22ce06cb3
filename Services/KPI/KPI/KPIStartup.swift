import Foundation
import Kafka
import Logging
import Models
public import ServiceKit

/// What the executable needs before the loop starts.
public enum KPIStartup {
    /// The partition count of `cs.interactions` (every customer-keyed input and `cs.kpi.partials`
    /// have as many): `TANDEM_KPI_PARTITIONS` if set, else from the cluster's metadata, retried
    /// for up to a minute while the broker is not reachable yet.
    ///
    /// - Returns: the count; 1 when the configuration or the rules are bad (the service runner
    ///   then stops naming the key); nil when the topic cannot be described within a minute.
    public static func partitionCount(environment: [String: String]) async -> Int32? {
        if let text = environment["TANDEM_KPI_PARTITIONS"], let count = Int32(text), count > 0 { return count }
        // A bad configuration or rules file: let the service runner stop with its message at once.
        guard
            let configuration = try? ServiceConfiguration.fromEnvironment(
                environment,
                service: "kpi",
                defaultPort: 8084
            ),
            (try? Rules.load(path: configuration.rulesPath)) != nil
        else { return 1 }
        let logger = Logger(label: "tandem.kpi.startup", factory: { _ in SwiftLogNoOpLogHandler() })
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let admin = try? KafkaAdmin(configuration: configuration.producerConfiguration, logger: logger) {
                let topic = configuration.topic(Topics.interactions)
                if let described = try? await admin.describeTopics([topic]), let first = described.first,
                    !first.partitions.isEmpty
                {
                    return Int32(first.partitions.count)
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
        return nil
    }
}
