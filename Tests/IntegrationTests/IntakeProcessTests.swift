import Foundation
import Kafka
import Logging
import TestSupport
import Testing

/// The real `tandem-intake` binary, killed with SIGKILL in the middle of a stream.
@Suite("tandem-intake under kill -9", .serialized, .timeLimit(.minutes(3)))
struct IntakeProcessTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func killedMidStreamThenRestartedPublishesEveryEventIdExactlyOnce() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        for topic in ["cs.interactions.raw", "cs.interactions", "cs.intake.dedup", "cs.deadletter"] {
            try cluster.createTopic(topic, partitions: 4)
        }
        let group = "intake-\(UUID().uuidString.prefix(6))"
        let outputs = try KitProcessTests.Outputs(cluster: cluster, topic: "cs.interactions", partitions: 4)
        let first = try GroupMember("tandem-intake", cluster: cluster, group: group)
        defer { first.terminate() }
        try await first.waitReady()

        let total = 10_000
        let stamp = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-60))
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers],
            logger: Self.quiet
        )
        @Sendable func send(_ range: Range<Int>) async throws {
            for chunk in stride(from: range.lowerBound, to: range.upperBound, by: 250) {
                var batch = ProducerBatch()
                for index in chunk..<min(chunk + 250, range.upperBound) {
                    let customer = "c-\(index % 400)"
                    let json =
                        #"{"eventId":"ev-\#(index)","occurredAt":"\#(stamp)","channel":"phone","kind":"inquiry","customerId":"\#(customer)"}"#
                    batch.append(topic: "cs.interactions.raw", key: Array(customer.utf8), value: Array(json.utf8))
                }
                #expect(try await producer.send(batch).allDelivered)
            }
        }
        // Kill it while the stream is flowing through; the last third is held back until after
        // the kill, so the kill always lands mid-stream however fast the machine.
        let held = total * 2 / 3
        let streaming = Task { try await send(0..<held) }
        try await waitUntil("a third of the stream published") { outputs.all.count >= total / 3 }
        first.kill9()
        let published = outputs.all.count
        try await streaming.value
        try await send(held..<total)
        await producer.close()

        let second = try GroupMember("tandem-intake", cluster: cluster, group: group)
        defer { second.terminate() }
        do {
            try await waitUntil("every event published after the restart", timeout: .seconds(60)) {
                Set(outputs.all.compactMap(Self.eventId)).count == total
            }
        } catch {
            let got = Set(outputs.all.compactMap(Self.eventId))
            Issue.record(
                "published \(got.count) distinct of \(total), \(outputs.all.count) in all; killed at \(published); exit: \(second.process.isRunning ? "running" : String(second.process.terminationStatus)), port \(second.port); ready: \(await httpGet("http://127.0.0.1:\(second.port)/health/ready")?.status ?? -1); metrics: \(await httpGet("http://127.0.0.1:\(second.port)/metrics")?.body.split(separator: "\n").filter { $0.hasPrefix("tandem_") }.joined(separator: " | ") ?? "")"
            )
            throw error
        }
        // A moment for any second copy to show up, then: no event id twice, none missing.
        try await waitUntil("the restarted intake to be idle") {
            await httpGet("http://127.0.0.1:\(second.port)/health/ready")?.status == 200
        }
        let ids = outputs.all.compactMap(Self.eventId)
        #expect(published < total, "the kill came after the whole stream: the test proved nothing")
        #expect(ids.count == total, "\(ids.count - Set(ids).count) event ids published twice")
        #expect(Set(ids) == Set((0..<total).map { "ev-\($0)" }))
        second.terminate()
        await outputs.stop()
    }

    static func eventId(_ json: String) -> String? {
        guard let range = json.range(of: #""eventId":""#) else { return nil }
        let rest = json[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    @Test func twoInstancesSplitTheWorkAndTogetherPublishWhatOneWould() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        for topic in ["cs.interactions.raw", "cs.interactions", "cs.intake.dedup", "cs.deadletter"] {
            try cluster.createTopic(topic, partitions: 4)
        }
        let group = "intake-\(UUID().uuidString.prefix(6))"
        let outputs = try KitProcessTests.Outputs(cluster: cluster, topic: "cs.interactions", partitions: 4)
        let a = try GroupMember("tandem-intake", cluster: cluster, group: group)
        let b = try GroupMember("tandem-intake", cluster: cluster, group: group)
        defer {
            a.terminate()
            b.terminate()
        }
        try await a.waitReady()
        try await b.waitReady()

        // 4,000 events, a quarter of them sent twice (an adapter's retries): 4,000 outputs expected.
        let total = 4_000
        let stamp = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-60))
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers],
            logger: Self.quiet
        )
        var batch = ProducerBatch()
        for index in 0..<total + total / 4 {
            let event = index < total ? index : (index - total) * 4
            let customer = "c-\(event % 300)"
            let json =
                #"{"eventId":"ev-\#(event)","occurredAt":"\#(stamp)","channel":"WeChat","kind":"inquiry","customerId":"\#(customer)"}"#
            batch.append(topic: "cs.interactions.raw", key: Array(customer.utf8), value: Array(json.utf8))
        }
        #expect(try await producer.send(batch).allDelivered)
        await producer.close()

        try await waitUntil("every event published", timeout: .seconds(60)) {
            Set(outputs.all.compactMap(Self.eventId)).count == total
        }
        // Both instances did part of the work (their counters move once a batch's commit is due).
        for instance in [a, b] {
            try await waitUntil("the instance on port \(instance.port) to report processed records") {
                await httpGet("http://127.0.0.1:\(instance.port)/metrics")?.body.contains("tandem_records_in_total")
                    == true
            }
        }
        let ids = outputs.all.compactMap(Self.eventId)
        #expect(ids.count == total, "\(ids.count - Set(ids).count) published twice")
        #expect(Set(ids) == Set((0..<total).map { "ev-\($0)" }))
        #expect(outputs.all.allSatisfy { $0.contains(#""channel":"wechat""#) })
        a.terminate()
        b.terminate()
        await outputs.stop()
    }
}
