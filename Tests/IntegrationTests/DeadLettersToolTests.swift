import Foundation
import Kafka
import Logging
import Models
import TestSupport
import Testing

/// `tandem deadletters` against the real `tandem-intake` on a cluster the test owns.
@Suite("tandem deadletters", .serialized, .timeLimit(.minutes(3)))
struct DeadLettersToolTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// `tandem deadletters <command> --brokers … <arguments>`.
    func tandem(
        _ command: String,
        _ brokers: [String],
        _ arguments: String...
    ) throws -> (status: Int32, output: String) {
        try run(try tandemBinary().path, ["deadletters", command] + brokers + arguments)
    }

    @Test func countsShowsAndReplaysOnceWithoutDuplicatesDownstream() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        for spec in [
            Topics.interactionsRaw, Topics.interactions, Topics.intakeDedupChangelog,
            Topics.deadLetter, Topics.deadLetterReplays,
        ] {
            try cluster.createTopic(spec.name, partitions: 3)
        }
        let brokers = ["--brokers", cluster.bootstrapServers]
        let outputs = try KitProcessTests.Outputs(cluster: cluster, topic: Topics.interactions.name, partitions: 3)
        let intake = try GroupMember("tandem-intake", cluster: cluster, group: "dl-\(UUID().uuidString.prefix(6))")
        defer { intake.terminate() }
        try await intake.waitReady()

        // A record intake rejects (an unknown channel) and a dead letter whose cause is "fixed":
        // a valid record some service gave up on during an incident.
        let stamp = Timestamp.format(Date().addingTimeInterval(-60))!
        let rejected =
            #"{"eventId":"dl-pigeon","occurredAt":"\#(stamp)","channel":"pigeon","kind":"inquiry","customerId":"c-1"}"#
        let valid =
            #"{"eventId":"dl-valid","occurredAt":"\#(stamp)","channel":"phone","kind":"inquiry","customerId":"c-2"}"#
        let incident = DeadLetter(
            service: "intake",
            reason: "broker_unavailable",
            message: "the test's incident",
            sourceTopic: Topics.interactionsRaw.name,
            sourcePartition: 0,
            sourceOffset: 0,
            originalKey: Array("c-2".utf8),
            originalPayload: Array(valid.utf8),
            at: Date()
        )
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers],
            logger: Self.quiet
        )
        var batch = ProducerBatch()
        batch.append(topic: Topics.interactionsRaw.name, key: Array("c-1".utf8), value: Array(rejected.utf8))
        batch.append(topic: Topics.deadLetter.name, key: Array("c-2".utf8), value: try TandemJSON.encode(incident))
        #expect(try await producer.send(batch).allDelivered)
        await producer.close()
        var last = ""
        do {
            try await waitUntil("intake's dead letter") {
                last = try tandem("count", brokers).output
                return last.contains("2 dead letters selected")
            }
        } catch {
            Issue.record("last count: \(last)")
            throw error
        }

        let count = try tandem("count", brokers)
        #expect(count.status == 0)
        #expect(count.output.contains("intake         broker_unavailable"))
        #expect(count.output.contains("intake         invalid "))
        let show = try tandem("show", brokers, "--reason", "invalid")
        #expect(show.output.contains("error:  channel: enum"))
        #expect(show.output.contains("source: cs.interactions.raw"))
        #expect(show.output.contains("dl-pigeon"))

        // Replay the fixed one: it reaches cs.interactions once.
        let first = try tandem("replay", brokers, "--reason", "broker_unavailable")
        #expect(first.status == 0)
        #expect(first.output.contains("1 replayed"), "\(first.output)")
        try await waitUntil("the replayed record on cs.interactions") {
            outputs.all.contains { $0.contains(#""eventId":"dl-valid""#) }
        }
        // Twice: the tool skips it; forced, intake drops the repeat by eventId.
        let second = try tandem("replay", brokers, "--reason", "broker_unavailable")
        #expect(second.output.contains("nothing to replay"), "\(second.output)")
        let forced = try tandem("replay", brokers, "--reason", "broker_unavailable", "--again")
        #expect(forced.output.contains("1 replayed"), "\(forced.output)")
        try await waitUntil("intake to count the repeat as a duplicate") {
            await httpGet("http://127.0.0.1:\(intake.port)/metrics")?.body
                .contains(#"tandem_duplicates_total{service="intake"} 1"#) == true
        }
        #expect(outputs.all.filter { $0.contains(#""eventId":"dl-valid""#) }.count == 1)

        // A replay whose cause is not fixed fails again, marked as such, and is not replayed again.
        let unfixed = try tandem("replay", brokers, "--reason", "invalid")
        #expect(unfixed.output.contains("1 replayed"), "\(unfixed.output)")
        try await waitUntil("the failed replay's dead letter") {
            try tandem("show", brokers, "--reason", "invalid").output.contains("a failed replay of:")
        }
        let loop = try tandem("replay", brokers, "--reason", "invalid")
        #expect(loop.output.contains("nothing to replay"), "\(loop.output)")

        // A letter whose payload was left out (too large for the broker) is not replayed: that
        // would write a tombstone. The tool says where the original is.
        var omitted = incident
        omitted.reason = "undeliverable"
        omitted.payload = nil
        omitted.payloadOmittedBytes = 2_000_000
        let letters = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers],
            logger: Self.quiet
        )
        try await letters.send(
            ProducerRecord(topic: Topics.deadLetter.name, key: Array("c-2".utf8), value: try TandemJSON.encode(omitted))
        )
        await letters.close()
        try await waitUntil("the letter without payload") {
            try tandem("count", brokers, "--reason", "undeliverable").output.contains("1 dead letters selected")
        }
        let notReplayable = try tandem("replay", brokers, "--reason", "undeliverable")
        #expect(notReplayable.output.contains("not replayable"), "\(notReplayable.output)")
        #expect(notReplayable.output.contains("the original is at cs.interactions.raw partition 0 offset 0"))
        #expect(notReplayable.output.contains("nothing to replay"), "\(notReplayable.output)")
        #expect(
            try tandem("show", brokers, "--reason", "undeliverable").output.contains("(omitted: 2000000 bytes")
        )
        intake.terminate()
        await outputs.stop()
    }
}
