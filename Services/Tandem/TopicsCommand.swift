import ArgumentParser
import Foundation
import Kafka
import Logging
import Models

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Manage the suite's topics on a real cluster.",
        subcommands: [Create.self]
    )

    /// `tandem topics create`: every Tandem topic through the Admin API, compacted where SPEC §1 says so.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Create every Tandem topic on a cluster (idempotent: existing topics with the right partition count are kept)."
        )

        @Option(help: "Bootstrap servers (default: KAFKA_BROKERS).")
        var brokers: String = ProcessInfo.processInfo.environment["KAFKA_BROKERS"] ?? "127.0.0.1:9092"

        @Option(help: "Partition count of every topic (the same for all customer-keyed topics).")
        var partitions: Int32 = 12

        @Option(help: "Replication factor.")
        var replicationFactor: Int32 = 3

        @Option(help: "Prefix for every topic name.")
        var prefix: String = ProcessInfo.processInfo.environment["TANDEM_TOPIC_PREFIX"] ?? ""

        @Option(
            name: .customShort("X"),
            help: "Extra librdkafka property name=value (e.g. -X security.protocol=SASL_SSL); repeatable."
        )
        var properties: [String] = []

        func run() async throws {
            var configuration = KafkaConfiguration(["bootstrap.servers": brokers])
            for property in properties {
                let parts = property.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw ValidationError("-X expects name=value, got '\(property)'") }
                configuration[String(parts[0])] = String(parts[1])
            }
            let admin = try KafkaAdmin(configuration: configuration, logger: Logger(label: "tandem.topics"))
            let topics = Topics.all.map { topic in
                NewTopic(
                    name: prefix + topic.name,
                    partitions: partitions,
                    replicationFactor: replicationFactor,
                    configs: topic.configs
                )
            }
            let result = try await admin.createTopics(topics)
            for topic in topics {
                let outcome = result[topic.name] == .created ? "created" : "exists"
                print(
                    "\(outcome)\t\(topic.name)\t\(topic.partitions) partitions\t\(topic.configs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"
                )
            }
        }
    }
}
