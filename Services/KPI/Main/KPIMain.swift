import Foundation
import KPI
import ServiceKit

/// `tandem-kpi`: configuration from the environment (see ServiceConfiguration), health and
/// metrics on port 8084 by default, graceful shutdown on SIGTERM/SIGINT. Partitions are assigned
/// with the `range` strategy unless `KAFKA_PARTITION_ASSIGNMENT_STRATEGY` says otherwise, so an
/// instance gets the same partition numbers of every input topic (the tier join and the
/// per-partition windows need that).
@main
enum KPIMain {
    static func main() async {
        var environment = ProcessInfo.processInfo.environment
        if environment["KAFKA_PARTITION_ASSIGNMENT_STRATEGY"] == nil {
            environment["KAFKA_PARTITION_ASSIGNMENT_STRATEGY"] = "range"
        }
        guard let partitions = await KPIStartup.partitionCount(environment: environment) else {
            FileHandle.standardError.write(
                Data("configuration error: KAFKA_BROKERS: cannot describe cs.interactions within a minute\n".utf8)
            )
            exit(2)
        }
        let code = await TandemService.main(name: "kpi", defaultPort: 8084, environment: environment) {
            configuration,
            rules in
            KPIProcessor(configuration: configuration, rules: rules, partitionCount: partitions)
        }
        exit(code)
    }
}
