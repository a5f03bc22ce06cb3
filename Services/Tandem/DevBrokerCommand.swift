import ArgumentParser
import Dispatch
import Foundation
import Kafka
import Logging
import Models

/// `tandem dev-broker`: the embedded cluster with every topic of the suite, until SIGINT/SIGTERM.
struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run librdkafka's mock cluster on 127.0.0.1 with every Tandem topic created.",
        discussion: """
            Prints the bootstrap string as the first line of output, then runs until SIGINT or SIGTERM.
            Any Kafka client can connect to it, e.g. `kcat -L -b <bootstrap>`.
            """
    )

    @Option(help: "Number of brokers in the cluster.")
    var brokers: Int = 1

    @Option(
        help: "Partition count of every topic (the same for all customer-keyed topics, as co-partitioning requires)."
    )
    var partitions: Int = 6

    @Option(help: "Prefix for every topic name (as TANDEM_TOPIC_PREFIX for the services).")
    var prefix: String = ProcessInfo.processInfo.environment["TANDEM_TOPIC_PREFIX"] ?? ""

    @Option(help: "Also write the bootstrap string to this file (for scripts).")
    var bootstrapFile: String?

    func validate() throws {
        guard brokers >= 1 else { throw ValidationError("--brokers must be at least 1") }
        guard partitions >= 1 else { throw ValidationError("--partitions must be at least 1") }
    }

    func run() async throws {
        var logger = Logger(label: "tandem.dev-broker")
        logger.logLevel = .warning
        let cluster = try EmbeddedKafkaCluster(brokers: brokers, logger: logger)
        for topic in Topics.all {
            try cluster.createTopic(prefix + topic.name, partitions: partitions, replicationFactor: min(brokers, 3))
        }
        print(cluster.bootstrapServers)
        fflush(nil)  // all streams: the first line must reach a pipe now, not at exit
        if let bootstrapFile {
            try (cluster.bootstrapServers + "\n").write(toFile: bootstrapFile, atomically: true, encoding: .utf8)
        }
        FileHandle.standardError.write(
            Data(
                "embedded Kafka: \(brokers) broker(s), \(Topics.all.count) topics × \(partitions) partitions; Ctrl-C stops it\n"
                    .utf8
            )
        )
        let signal = await TerminationSignals().wait()
        FileHandle.standardError.write(Data("\(signal) received, stopping\n".utf8))
        cluster.shutdown()
        if let bootstrapFile { try? FileManager.default.removeItem(atPath: bootstrapFile) }
    }
}
