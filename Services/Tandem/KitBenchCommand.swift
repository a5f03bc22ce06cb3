import ArgumentParser
import Foundation
import Kafka
import Logging
import Models
import ServiceKit

/// `tandem bench kit`: the processing loop's own cost, and the hot-path JSON codec.
struct KitBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kit",
        abstract: "The processing loop against the bare wrapper passthrough, and the JSON codec against Foundation.",
        discussion: """
            loop: the same records pass consume → produce once through the wrapper alone (as in `bench kafka`)
            and once through the service kit's ProcessingLoop with an identity processor (consume, process,
            produce, wait for acknowledgements, commit), on the embedded broker, in the same run; median of
            the repeats; loopRatio = loop / bare. codec: decode a ~400-byte RawInteraction and encode an
            Interaction on one core, simdjson fast path against Foundation's JSONDecoder/JSONEncoder.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Records for the codec measurement.")
    var codecRecords: Int = 200_000

    func run() async throws {
        var logger = Logger(label: "tandem.bench")
        logger.logLevel = .error
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let (records, partitions, repeats, json) = (options.records, options.partitions, options.repeats, options.json)
        let bench = KafkaBench(cluster: cluster, options: options, logger: logger)

        var bare: [Double] = []
        var loop: [Double] = []
        for round in 1...repeats {
            let source = "kit.source.\(round)"
            let outBare = "kit.out-bare.\(round)"
            let outLoop = "kit.out-loop.\(round)"
            for topic in [source, outBare, outLoop, "cs.deadletter.\(round)"] {
                try cluster.createTopic(topic, partitions: partitions)
            }
            progress("[\(round)/\(repeats)] filling \(source)…")
            _ = try await bench.swiftProduce(topic: source)
            progress("[\(round)/\(repeats)] bare passthrough…")
            bare.append(try await bench.swiftPassthrough(from: source, to: outBare))
            progress("[\(round)/\(repeats)] processing loop…")
            loop.append(
                try await loopThroughput(
                    cluster: cluster,
                    source: source,
                    destination: outLoop,
                    round: round,
                    records: records,
                    logger: logger
                )
            )
            progress("[\(round)/\(repeats)] bare \(format(bare.last!)) rec/s, loop \(format(loop.last!)) rec/s\n")
        }
        progress("codec…")
        let codec = CodecBenchmark.run(records: codecRecords)
        progress("")

        let loopRatio = median(loop) / median(bare)
        print(
            "tandem bench kit: \(records) records × \(options.valueSize) B, \(partitions) partitions, median of \(repeats); codec on one core"
        )
        print(
            "loop        bare passthrough \(format(median(bare))) rec/s, ProcessingLoop \(format(median(loop))) rec/s, ratio \(String(format: "%.0f%%", loopRatio * 100))"
        )
        print(
            "codec       fast \(format(codec.fastPerSecond)) rec/s, Foundation \(format(codec.foundationPerSecond)) rec/s, speed-up \(String(format: "%.1f×", codec.fastPerSecond / codec.foundationPerSecond))"
        )
        if json {
            let summary: [String: Double] = [
                "loopRatio": (loopRatio * 1000).rounded() / 1000,
                "loopPerSecond": median(loop).rounded(),
                "barePerSecond": median(bare).rounded(),
                "codecPerSecond": codec.fastPerSecond.rounded(),
                "foundationCodecPerSecond": codec.foundationPerSecond.rounded(),
                "codecSpeedupOverFoundation": (codec.fastPerSecond / codec.foundationPerSecond * 10).rounded() / 10,
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// Records per second through a ProcessingLoop with an identity processor, from its first record to its last commit.
    private func loopThroughput(
        cluster: EmbeddedKafkaCluster,
        source: String,
        destination: String,
        round: Int,
        records: Int,
        logger: Logger
    ) async throws -> Double {
        let configuration = ServiceConfiguration(
            service: "bench",
            brokers: cluster.bootstrapServers,
            groupID: "bench-loop-\(round)"
        )
        let loop = try ProcessingLoop(
            configuration: configuration,
            processor: IdentityProcessor(input: source, output: destination),
            deadLetterTopic: "cs.deadletter.\(round)",
            logger: logger
        )
        let running = Task { try await loop.run() }
        let measured = try await LoopThroughput.measure(loop, total: records, timeout: .seconds(300))
        loop.stop()
        try await running.value
        guard loop.counts.recordsIn >= records, loop.counts.recordsOut >= records else {
            throw BenchFailure("loop: \(loop.counts.recordsIn) in, \(loop.counts.recordsOut) out of \(records)")
        }
        return measured.perSecond
    }
}

/// Writes every record unchanged to the output topic: the loop's cost with no business logic.
final class IdentityProcessor: RecordProcessor, @unchecked Sendable {
    let inputTopics: [String]
    let output: String
    var stores: [any StateStore] { [] }

    init(input: String, output: String) {
        inputTopics = [input]
        self.output = output
    }

    func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        output.send(topic: self.output, key: record.key, value: record.value)
    }
}
