import ArgumentParser
import Foundation
import Kafka
import Logging
import Models

/// `tandem deadletters`: what an operator needs after an incident.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deadletters",
        abstract: "Count, show and replay the dead letters on cs.deadletter.",
        discussion: """
            Every command reads the dead-letter topic from its beginning up to its end when the command \
            starts (no consumer group, nothing committed). Selections combine: --service, --reason, \
            --since and --until (RFC 3339, on the dead letter's `at`). Replay sends each selected dead \
            letter's original key and bytes to the topic it came from, with a `tandem.replay-of` header, \
            and records it on cs.deadletter.replays: a dead letter already replayed is skipped (unless \
            --again), and downstream services drop repeats by their own ids (intake by eventId), so \
            replaying twice creates no duplicates.
            """,
        subcommands: [Count.self, Show.self, Replay.self],
        defaultSubcommand: Count.self
    )

    struct Selection: ParsableArguments {
        @Option(help: "Bootstrap servers (default: KAFKA_BROKERS).")
        var brokers: String = ProcessInfo.processInfo.environment["KAFKA_BROKERS"] ?? "127.0.0.1:9092"

        @Option(help: "Topic-name prefix (default: TANDEM_TOPIC_PREFIX).")
        var prefix: String = ProcessInfo.processInfo.environment["TANDEM_TOPIC_PREFIX"] ?? ""

        @Option(help: "Only dead letters of this service (intake, segmentation, leads, kpi).")
        var service: String?

        @Option(help: "Only dead letters with this reason code.")
        var reason: String?

        @Option(help: "Only dead letters written at or after this time (RFC 3339).")
        var since: String?

        @Option(help: "Only dead letters written before this time (RFC 3339).")
        var until: String?

        @Option(name: .customShort("X"), help: "A librdkafka property name=value (SASL, SSL); repeatable.")
        var properties: [String] = []

        func validate() throws {
            for (name, text) in [("--since", since), ("--until", until)] {
                if let text, Timestamp.parse(text) == nil {
                    throw ValidationError("\(name) expects an RFC 3339 time, got '\(text)'")
                }
            }
            for property in properties where !property.contains("=") {
                throw ValidationError("-X expects name=value, got '\(property)'")
            }
        }

        var kafkaConfiguration: KafkaConfiguration {
            var configuration = KafkaConfiguration(["bootstrap.servers": brokers])
            for property in properties {
                let parts = property.split(separator: "=", maxSplits: 1).map(String.init)
                configuration[parts[0]] = parts[1]
            }
            return configuration
        }

        func matches(_ letter: DeadLetter) -> Bool {
            if let service, letter.service != service { return false }
            if let reason, letter.reason != reason { return false }
            if let since = since.flatMap(Timestamp.parse), letter.at < since { return false }
            if let until = until.flatMap(Timestamp.parse), letter.at >= until { return false }
            return true
        }
    }

    struct Count: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead letters by service and reason.")
        @OptionGroup var selection: Selection

        func run() async throws {
            let archive = try await DeadLetterArchive.read(selection)
            var counts: [String: (count: Int, first: Date, last: Date)] = [:]
            for entry in archive.letters where selection.matches(entry.letter) {
                let key = "\(entry.letter.service)\t\(entry.letter.reason)"
                let previous = counts[key] ?? (0, entry.letter.at, entry.letter.at)
                counts[key] = (
                    previous.count + 1, min(previous.first, entry.letter.at), max(previous.last, entry.letter.at)
                )
            }
            print("SERVICE        REASON                  COUNT  FIRST                     LAST")
            for (key, value) in counts.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "\t").map(String.init)
                print(
                    "\(parts[0].padded(14)) \(parts[1].padded(22)) \(String(value.count).leftPadded(6))  \((Timestamp.format(value.first) ?? "").padded(25)) \(Timestamp.format(value.last) ?? "")"
                )
            }
            print(
                "\(counts.values.reduce(0) { $0 + $1.count }) dead letters selected of \(archive.letters.count) on \(archive.topic)"
            )
            if archive.unreadable > 0 {
                print("\(archive.unreadable) records on the topic are not dead letters (skipped)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A few dead letters with their source and error (the payload may hold personal data)."
        )
        @OptionGroup var selection: Selection

        @Option(help: "How many to show (the most recent).")
        var limit: Int = 5

        func run() async throws {
            let archive = try await DeadLetterArchive.read(selection)
            let selected = archive.letters.filter { selection.matches($0.letter) }
            for entry in selected.suffix(limit) {
                let letter = entry.letter
                print(
                    "— \(Timestamp.format(letter.at) ?? "") \(letter.service) \(letter.reason) (\(archive.topic) \(entry.partition)/\(entry.offset))"
                )
                print("  error:  \(letter.message)")
                print(
                    "  source: \(letter.sourceTopic) partition \(letter.sourcePartition) offset \(letter.sourceOffset)"
                )
                if let replayOf = letter.replayOf { print("  a failed replay of: \(archive.topic) \(replayOf)") }
                print("  key:    \(letter.key ?? "(none)")\(letter.keyEncoding == .base64 ? " (base64)" : "")")
                let payload =
                    letter.payload
                    ?? letter.payloadOmittedBytes.map {
                        "(omitted: \($0) bytes, too large for the broker with the letter; the original is at the source)"
                    } ?? "(none)"
                let preview =
                    payload.count > 300 ? String(payload.prefix(300)) + "… (\(payload.utf8.count) bytes)" : payload
                print("  payload\(letter.payloadEncoding == .base64 ? " (base64)" : ""): \(preview)")
            }
            print("\(min(limit, selected.count)) of \(selected.count) selected shown")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the selected dead letters back to the topics they came from."
        )
        @OptionGroup var selection: Selection

        @Flag(help: "Also replay dead letters replayed before.")
        var again = false

        @Flag(help: "Say what would be replayed, send nothing.")
        var dryRun = false

        func run() async throws {
            let archive = try await DeadLetterArchive.read(selection)
            // Skipped unless --again: dead letters replayed before, and replays that failed again
            // (their cause is not fixed yet; replaying them in a loop would only add dead letters).
            let replayed = again ? [] : archive.replayed
            // A letter whose payload was left out (it was too large for the broker) has nothing to
            // send: replaying it would write a tombstone. Its original is at its source coordinates.
            let withoutPayload = archive.letters.filter {
                selection.matches($0.letter) && $0.letter.payloadOmittedBytes != nil
            }
            for entry in withoutPayload {
                print(
                    "not replayable \(entry.coordinates): its payload (\(entry.letter.payloadOmittedBytes ?? 0) bytes) was omitted; the original is at \(entry.letter.sourceTopic) partition \(entry.letter.sourcePartition) offset \(entry.letter.sourceOffset)"
                )
            }
            let selected = archive.letters.filter {
                selection.matches($0.letter) && !replayed.contains($0.coordinates)
                    && (again || $0.letter.replayOf == nil) && $0.letter.payloadOmittedBytes == nil
            }
            let skipped =
                archive.letters.filter { selection.matches($0.letter) }.count - selected.count - withoutPayload.count
            if dryRun {
                for entry in selected {
                    print(
                        "would replay \(entry.coordinates) → \(entry.letter.sourceTopic) (\(entry.letter.service) \(entry.letter.reason))"
                    )
                }
                print(
                    "\(selected.count) would be replayed, \(skipped) skipped (replayed before, or a replay that failed again)"
                )
                return
            }
            guard !selected.isEmpty else {
                print(
                    "nothing to replay (\(skipped) selected were replayed before or failed again after a replay; --again replays them anyway)"
                )
                return
            }
            var logger = Logger(label: "tandem.deadletters")
            logger.logLevel = .error
            let producer = try KafkaProducer(configuration: selection.kafkaConfiguration, logger: logger)
            var batch = ProducerBatch(reservingCapacity: selected.count)
            for entry in selected {
                batch.append(
                    topic: entry.letter.sourceTopic,
                    key: entry.letter.originalKey,
                    value: entry.letter.originalPayload,
                    // ServiceKit turns this header into `replayOf` if the record fails again.
                    headers: [KafkaHeader(name: "tandem.replay-of", value: Array(entry.coordinates.utf8))]
                )
            }
            let reports = try await producer.send(batch)
            // Only what the broker took is recorded as replayed.
            var log = ProducerBatch(reservingCapacity: selected.count)
            let now = Timestamp.format(Date()) ?? ""
            var sent = 0
            for (entry, report) in zip(selected, reports) where report.isDelivered {
                let record =
                    #"{"replayedAt":"\#(now)","to":"\#(entry.letter.sourceTopic)","offset":\#(report.offset.rawValue)}"#
                log.append(topic: archive.replayTopic, key: Array(entry.coordinates.utf8), value: Array(record.utf8))
                sent += 1
            }
            if !log.isEmpty, !(try await producer.send(log).allDelivered) {
                print(
                    "warning: some replays were sent but not recorded on \(archive.replayTopic); --dry-run shows them"
                )
            }
            await producer.close()
            print(
                "\(sent) replayed, \(selected.count - sent) failed (\(reports.firstError.map { "\($0)" } ?? "no error")), \(skipped) skipped (replayed before, or a replay that failed again)"
            )
            if sent < selected.count { throw ExitCode(1) }
        }
    }
}

/// The dead letters on the topic when read, with where each one is, and which were replayed.
struct DeadLetterArchive {
    struct Entry {
        var partition: Int32
        var offset: Int64
        var letter: DeadLetter
        /// `partition/offset` on the dead-letter topic: the dead letter's identity.
        var coordinates: String { "\(partition)/\(offset)" }
    }

    var topic: String
    var replayTopic: String
    var letters: [Entry] = []
    var replayed: Set<String> = []
    var unreadable = 0

    static func read(_ selection: DeadLettersCommand.Selection) async throws -> DeadLetterArchive {
        var logger = Logger(label: "tandem.deadletters")
        logger.logLevel = .error
        var archive = DeadLetterArchive(
            topic: selection.prefix + Topics.deadLetter.name,
            replayTopic: selection.prefix + Topics.deadLetterReplays.name
        )
        let consumer = try KafkaConsumer(configuration: selection.kafkaConfiguration, logger: logger)
        defer { Task { await consumer.close() } }
        try await readToEnd(consumer, topic: archive.topic, configuration: selection.kafkaConfiguration) { record in
            guard let value = record.value, let letter = try? TandemJSON.decode(DeadLetter.self, from: value) else {
                archive.unreadable += 1
                return
            }
            archive.letters.append(Entry(partition: record.partition, offset: record.offset, letter: letter))
        }
        let replays = try KafkaConsumer(configuration: selection.kafkaConfiguration, logger: logger)
        defer { Task { await replays.close() } }
        try await readToEnd(replays, topic: archive.replayTopic, configuration: selection.kafkaConfiguration) {
            record in
            if let key = record.keyString { archive.replayed.insert(key) }
        }
        return archive
    }

    /// Reads every partition of `topic` from its beginning to its high watermark as of now; a
    /// missing topic reads as empty.
    private static func readToEnd(
        _ consumer: KafkaConsumer,
        topic: String,
        configuration: KafkaConfiguration,
        _ handle: (KafkaRecord) -> Void
    ) async throws {
        let admin = try KafkaAdmin(configuration: configuration)
        guard let description = try await admin.describeTopics([topic]).first(where: { $0.name == topic }),
            !description.partitions.isEmpty
        else { return }
        var remaining: [Int32: Int64] = [:]
        for partition in description.partitions {
            let marks = try await consumer.queryWatermarks(topic: topic, partition: partition.id)
            if marks.high > marks.low { remaining[partition.id] = marks.high }
        }
        guard !remaining.isEmpty else { return }
        try consumer.assign(
            remaining.keys.map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) }
        )
        for await record in consumer.records {
            if let end = remaining[record.partition], record.offset < end {
                handle(record)
                if record.offset + 1 >= end { remaining[record.partition] = nil }
            }
            if remaining.isEmpty { break }
        }
    }
}

extension String {
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
