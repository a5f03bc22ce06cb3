import Kafka
import Testing

@Suite("admin on the embedded broker", .timeLimit(.minutes(1)))
struct AdminTests {
    let cluster = TestCluster.shared

    @Test func describeTopicsReportsPartitionsAndLeaders() async throws {
        let topic = uniqueName("describe")
        try cluster.createTopic(topic, partitions: 5)
        let admin = try KafkaAdmin(configuration: ["bootstrap.servers": cluster.bootstrapServers], logger: quietLogger)
        let described = try await admin.describeTopics([topic])
        #expect(described.count == 1)
        #expect(described[0].name == topic)
        #expect(described[0].partitions.map(\.id) == [0, 1, 2, 3, 4])
        #expect(described[0].partitions.allSatisfy { $0.leader == 1 })
    }

    @Test func describingAMissingTopicIsAnError() async throws {
        let admin = try KafkaAdmin(configuration: ["bootstrap.servers": cluster.bootstrapServers], logger: quietLogger)
        let error = await #expect(throws: KafkaError.self) { try await admin.describeTopics([uniqueName("missing")]) }
        #expect(error?.code == .admin)
        #expect(error?.rdKafkaName == "UNKNOWN_TOPIC_OR_PART")
    }

    /// The mock cluster does not implement CreateTopics: the wrapper must say so, not hang.
    @Test func createTopicsOnTheMockFailsClearly() async throws {
        let admin = try KafkaAdmin(configuration: ["bootstrap.servers": cluster.bootstrapServers], logger: quietLogger)
        let error = await #expect(throws: KafkaError.self) {
            try await admin.createTopics(
                [NewTopic(name: uniqueName("created"), partitions: 3, configs: ["cleanup.policy": "compact"])],
                timeout: .seconds(5)
            )
        }
        #expect(error?.rdKafkaName != nil)
    }
}
