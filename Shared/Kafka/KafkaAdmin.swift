internal import CRDKafka
public import Logging

/// A topic to create.
public struct NewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32
    /// Topic configs, e.g. `["cleanup.policy": "compact", "retention.ms": "604800000"]`.
    public var configs: [String: String]

    public init(name: String, partitions: Int32, replicationFactor: Int32 = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What the cluster says about a topic.
public struct TopicDescription: Sendable, Hashable {
    public struct Partition: Sendable, Hashable {
        public var id: Int32
        public var leader: Int32
        public var replicas: [Int32]
        public var inSyncReplicas: [Int32]
    }
    public var name: String
    public var partitions: [Partition]
}

/// What ``KafkaAdmin/createTopics(_:timeout:)`` did with one topic.
public enum TopicCreation: Sendable, Hashable {
    case created
    /// It existed already with the requested partition count.
    case alreadyExists
}

/// Cluster administration: topics.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient

    /// - Parameter configuration: librdkafka properties; `bootstrap.servers` is required.
    public init(
        configuration: KafkaConfiguration,
        logger: Logger = Logger(label: "tandem.kafka.admin")
    ) throws(KafkaError) {
        client = try RDKafkaClient(.producer, configuration: configuration, callbacks: RDKafkaCallbacks(logger: logger))
    }

    /// Creates topics, idempotently: a topic that exists with the requested partition count is
    /// fine; one that exists with another count is an error, because keyed topics must stay
    /// co-partitioned.
    ///
    /// - Throws: ``KafkaError/Code/admin`` naming the first topic that failed.
    @discardableResult
    public func createTopics(
        _ topics: [NewTopic],
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) -> [String: TopicCreation] {
        guard !topics.isEmpty else { return [:] }
        let client = self.client
        let milliseconds = timeout.milliseconds
        let outcome: Result<[String: rd_kafka_resp_err_t], KafkaError> = await runBlocking {
            Self.createTopicsBlocking(client.handle, topics, milliseconds)
        }
        var result: [String: TopicCreation] = [:]
        for (name, err) in try outcome.get() {
            switch err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                result[name] = .created
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
                let wanted = topics.first { $0.name == name }!.partitions
                let existing = try await describeTopics([name], timeout: timeout).first?.partitions.count ?? 0
                guard existing == Int(wanted) else {
                    throw KafkaError(
                        .admin,
                        reason: "topic \(name) exists with \(existing) partitions, \(wanted) wanted"
                    )
                }
                result[name] = .alreadyExists
            default:
                throw .rd(.admin, "creating topic \(name) failed", err)
            }
        }
        return result
    }

    private static func createTopicsBlocking(
        _ handle: OpaquePointer,
        _ topics: [NewTopic],
        _ milliseconds: Int32
    ) -> Result<[String: rd_kafka_resp_err_t], KafkaError> {
        var errbuf = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for topic in topics {
            guard
                let newTopic = rd_kafka_NewTopic_new(
                    topic.name,
                    topic.partitions,
                    topic.replicationFactor,
                    &errbuf,
                    errbuf.count
                )
            else {
                let detail = errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                return .failure(KafkaError(.admin, reason: "invalid topic \(topic.name)", rdKafkaText: detail))
            }
            newTopics.append(newTopic)
            for (name, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                let err = rd_kafka_NewTopic_set_config(newTopic, name, value)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return .failure(.rd(.admin, "config \(name) of \(topic.name) rejected", err))
                }
            }
        }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errbuf, errbuf.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errbuf, errbuf.count)
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        newTopics.withUnsafeMutableBufferPointer {
            rd_kafka_CreateTopics(handle, $0.baseAddress, $0.count, options, queue)
        }

        guard let event = rd_kafka_queue_poll(queue, milliseconds + 5000) else {
            return .failure(KafkaError(.timeout, reason: "no answer to CreateTopics"))
        }
        defer { rd_kafka_event_destroy(event) }
        let eventErr = rd_kafka_event_error(event)
        if eventErr != RD_KAFKA_RESP_ERR_NO_ERROR {
            let detail = rd_kafka_event_error_string(event).map { String(cString: $0) }
            return .failure(.rd(.admin, "CreateTopics failed", eventErr, detail: detail))
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
            let results = rd_kafka_CreateTopics_result_topics(result, &count)
        else { return .failure(KafkaError(.admin, reason: "CreateTopics returned no result")) }
        var outcome: [String: rd_kafka_resp_err_t] = [:]
        for index in 0..<count {
            let topicResult = results[index]
            outcome[String(cString: rd_kafka_topic_result_name(topicResult))] = rd_kafka_topic_result_error(topicResult)
        }
        return .success(outcome)
    }

    /// Partitions, leaders and replicas of the named topics, from the cluster's metadata.
    ///
    /// - Throws: ``KafkaError/Code/admin`` when a topic does not exist or metadata cannot be had.
    public func describeTopics(
        _ names: [String],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [TopicDescription] {
        let client = self.client
        let milliseconds = timeout.milliseconds
        let result: Result<[TopicDescription], KafkaError> = await runBlocking {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(client.handle, 1, nil, &metadata, milliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(.rd(.admin, "metadata request failed", err))
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var byName: [String: TopicDescription] = [:]
            for topic in UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt)) {
                let name = String(cString: topic.topic)
                if topic.err != RD_KAFKA_RESP_ERR_NO_ERROR { continue }
                let partitions = UnsafeBufferPointer(start: topic.partitions, count: Int(topic.partition_cnt)).map {
                    partition in
                    TopicDescription.Partition(
                        id: partition.id,
                        leader: partition.leader,
                        replicas: Array(
                            UnsafeBufferPointer(start: partition.replicas, count: Int(partition.replica_cnt))
                        ),
                        inSyncReplicas: Array(UnsafeBufferPointer(start: partition.isrs, count: Int(partition.isr_cnt)))
                    )
                }
                byName[name] = TopicDescription(name: name, partitions: partitions.sorted { $0.id < $1.id })
            }
            var found: [TopicDescription] = []
            for name in names {
                guard let description = byName[name] else {
                    return .failure(.rd(.admin, "topic \(name) not found", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART))
                }
                found.append(description)
            }
            return .success(found)
        }
        return try result.get()
    }
}
