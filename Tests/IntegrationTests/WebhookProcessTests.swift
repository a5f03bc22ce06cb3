import Foundation
import Kafka
import Logging
import TestSupport
import Testing

/// `POST /v1/interactions` on the real `tandem-intake` binary, on a cluster the test owns.
@Suite("tandem-intake webhook", .serialized, .timeLimit(.minutes(3)))
struct WebhookProcessTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let token = "t0k3n-\(UUID().uuidString)"

    static func record(_ eventId: String, customer: String = "c-1", extra: String = "") -> String {
        let stamp = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-60))
        return
            #"{"eventId":"\#(eventId)","occurredAt":"\#(stamp)","channel":"微信","kind":"inquiry","customerId":"\#(customer)"\#(extra)}"#
    }

    @Test func answersEachCaseAndAcceptedRecordsReachTheCleanStream() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        for topic in ["cs.interactions.raw", "cs.interactions", "cs.intake.dedup", "cs.deadletter"] {
            try cluster.createTopic(topic, partitions: 3)
        }
        let outputs = try KitProcessTests.Outputs(cluster: cluster, topic: "cs.interactions", partitions: 3)
        let intake = try GroupMember(
            "tandem-intake",
            environment: ["TANDEM_WEBHOOK_TOKEN": Self.token, "TANDEM_WEBHOOK_MAX_BYTES": "65536"],
            cluster: cluster,
            group: "webhook-\(UUID().uuidString.prefix(6))"
        )
        defer { intake.terminate() }
        try await intake.waitReady()
        let url = "http://127.0.0.1:\(intake.port)/v1/interactions"
        let auth = ["Authorization": "Bearer \(Self.token)"]

        // 202: one JSON record, then an NDJSON batch of 100 — answered after the broker's ack.
        let single = try #require(
            await httpRequest(
                "POST",
                url,
                headers: auth.merging(["Content-Type": "application/json"]) { $1 },
                body: Array(Self.record("wh-single").utf8)
            )
        )
        #expect(single.status == 202, "\(single.body)")
        #expect(single.body.contains(#""accepted":1"#))
        let batch = (0..<100).map { Self.record("wh-\($0)", customer: "c-\($0 % 7)") }.joined(separator: "\n")
        let accepted = try #require(
            await httpRequest(
                "POST",
                url,
                headers: auth.merging(["Content-Type": "application/x-ndjson"]) { $1 },
                body: Array(batch.utf8)
            )
        )
        #expect(accepted.status == 202, "\(accepted.body)")
        #expect(accepted.body.contains(#""accepted":100"#) && accepted.body.contains(#""rejected":0"#))

        // 400: the valid records of a mixed batch are still accepted, and the answer says which.
        let mixed = [
            Self.record("wh-ok-1"), "{not json", Self.record("wh-bad-csat", extra: #","kind2":1,"csat":9"#),
            "[1,2]", Self.record("wh-ok-2", extra: #","text":"call 13912345611""#),
        ].joined(separator: "\r\n")
        let partial = try #require(await httpRequest("POST", url, headers: auth, body: Array(mixed.utf8)))
        #expect(partial.status == 400, "\(partial.body)")
        let answer = try #require(
            try JSONSerialization.jsonObject(with: Data(partial.body.utf8)) as? [String: Any]
        )
        #expect(answer["accepted"] as? Int == 2)
        #expect(answer["rejected"] as? Int == 3)
        let results = try #require(answer["results"] as? [[String: Any]])
        #expect(
            results.map { $0["status"] as? String } == ["accepted", "rejected", "rejected", "rejected", "accepted"]
        )
        #expect(results.map { $0["reason"] as? String } == [nil, "invalid_json", "invalid", "not_an_object", nil])
        #expect(results.map { $0["line"] as? Int } == [1, 2, 3, 4, 5])
        #expect(results[2]["eventId"] as? String == "wh-bad-csat")
        #expect(!partial.body.contains("13912345611"))

        // 401: no token, a wrong one, another scheme.
        for headers in [[:], ["Authorization": "Bearer nope"], ["Authorization": "Basic \(Self.token)"]] {
            let refused = try #require(await httpRequest("POST", url, headers: headers, body: Array(batch.utf8)))
            #expect(refused.status == 401)
            #expect(refused.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        }
        // 413: over TANDEM_WEBHOOK_MAX_BYTES (64 KiB here).
        let huge = Array(repeating: batch, count: 40).joined(separator: "\n")
        #expect(huge.utf8.count > 65_536)
        let tooLarge = try #require(await httpRequest("POST", url, headers: auth, body: Array(huge.utf8)))
        #expect(tooLarge.status == 413)
        // Other methods: 405.
        #expect(await httpRequest("GET", url, headers: auth)?.status == 405)

        // Every accepted record reaches cs.interactions once, normalised and masked; nothing else does.
        var expected = Set((0..<100).map { "wh-\($0)" })
        expected.formUnion(["wh-single", "wh-ok-1", "wh-ok-2"])
        try await waitUntil("the accepted records on cs.interactions", timeout: .seconds(30)) {
            Set(outputs.all.compactMap(IntakeProcessTests.eventId)) == expected
        }
        let published = outputs.all
        #expect(published.count == expected.count)
        #expect(published.allSatisfy { $0.contains(#""channel":"wechat""#) })
        let masked = try #require(published.first { $0.contains(#""eventId":"wh-ok-2""#) })
        #expect(masked.contains("139****5611") && !masked.contains("13912345611"))

        // The intake metrics an operator watches, including the webhook's (lag is sampled once a second).
        var metrics = ""
        try await waitUntil("the lag gauge") {
            metrics = await httpGet("http://127.0.0.1:\(intake.port)/metrics")?.body ?? ""
            return metrics.contains("tandem_consumer_lag{")
        }
        for line in [
            #"tandem_webhook_records_total{service="intake",result="accepted"} 103"#,
            #"tandem_webhook_records_total{service="intake",result="rejected"} 3"#,
            #"tandem_webhook_unauthorized_total{service="intake"} 3"#,
        ] {
            #expect(metrics.contains(line), "missing \(line)")
        }
        for name in [
            "tandem_records_in_total", "tandem_records_out_total", "tandem_processing_seconds",
            "tandem_consumer_lag", "tandem_duplicates_total",
        ] {
            #expect(metrics.contains(name), "missing \(name)")
        }
        intake.terminate()
        await outputs.stop()
    }
}
