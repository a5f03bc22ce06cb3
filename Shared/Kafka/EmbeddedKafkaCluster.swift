internal import CRDKafka
public import Logging
import Synchronization

/// librdkafka's mock cluster: a real Kafka-protocol broker (1…N brokers) running inside this
/// process on 127.0.0.1, reachable by any Kafka client.
///
/// Limits of the mock (librdkafka 2.0) that a real cluster does not have:
/// - its CreateTopics admin API is not supported: create topics here with ``createTopic(_:partitions:replicationFactor:)``;
///   topics auto-created on first use get a default partition count, which breaks co-partitioning;
/// - it keeps at most about 5 MiB or 100,000 batches per partition and silently drops older data
///   (consumers then see `OFFSET_OUT_OF_RANGE`);
/// - it does not compact, and its transactions do not work.
public final class EmbeddedKafkaCluster: Sendable {
    /// The `host:port,…` bootstrap string of the cluster's brokers.
    public let bootstrapServers: String
    /// Broker ids, 1…N.
    public let brokerIDs: [Int32]

    private let client: RDKafkaClient
    private let cluster: Mutex<MockHandle?>

    /// Starts a cluster of `brokers` brokers.
    ///
    /// - Throws: ``KafkaError/Code/mock`` when the cluster cannot be started.
    public init(brokers: Int = 1, logger: Logger = Logger(label: "tandem.kafka.mock")) throws(KafkaError) {
        // The mock cluster lives on a client handle of its own (it uses it for logging and timers),
        // and its brokers' sockets take that handle's socket settings. Without TCP_NODELAY a
        // response written in pieces waits for the client's delayed ACK: +40 ms now and then on
        // a hop, and delivery p90 15 ms instead of 6 ms at 1,000 records/s.
        client = try RDKafkaClient(
            .producer,
            configuration: ["log_level": "3", "socket.nagle.disable": "true"],
            callbacks: RDKafkaCallbacks(logger: logger)
        )
        guard let mock = rd_kafka_mock_cluster_new(client.handle, Int32(brokers)) else {
            throw KafkaError(.mock, reason: "rd_kafka_mock_cluster_new failed")
        }
        cluster = Mutex(MockHandle(pointer: mock))
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(mock))
        brokerIDs = (1...Int32(max(1, brokers))).map { $0 }
    }

    private func withCluster<R>(_ body: (OpaquePointer) throws(KafkaError) -> R) throws(KafkaError) -> R {
        let mock = cluster.withLock { $0?.pointer }
        guard let mock else { throw KafkaError(.closed, reason: "embedded cluster stopped") }
        return try body(mock)
    }

    /// Creates a topic inside the cluster (the mock does not answer CreateTopics requests).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try withCluster { mock throws(KafkaError) in
            let err = rd_kafka_mock_topic_create(mock, name, Int32(partitions), Int32(replicationFactor))
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.mock, "creating topic \(name) failed", err) }
        }
    }

    /// Takes a broker down: its connections close and it refuses new ones until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ brokerID: Int32) throws(KafkaError) {
        try withCluster { mock throws(KafkaError) in
            let err = rd_kafka_mock_broker_set_down(mock, brokerID)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.mock, "broker \(brokerID) down failed", err) }
        }
    }

    /// Brings a broker back after ``setBrokerDown(_:)``.
    public func setBrokerUp(_ brokerID: Int32) throws(KafkaError) {
        try withCluster { mock throws(KafkaError) in
            let err = rd_kafka_mock_broker_set_up(mock, brokerID)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.mock, "broker \(brokerID) up failed", err) }
        }
    }

    /// Moves a partition's leadership to a broker (so a fault can hit one topic and not another).
    public func setPartitionLeader(_ topic: String, partition: Int32, brokerID: Int32) throws(KafkaError) {
        try withCluster { mock throws(KafkaError) in
            let err = rd_kafka_mock_partition_set_leader(mock, topic, partition, brokerID)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.mock, "leader of \(topic)/\(partition) not set", err) }
        }
    }

    /// Makes a broker the coordinator of a consumer group (`keyType` "group") or transactional id ("transaction").
    public func setCoordinator(keyType: String = "group", key: String, brokerID: Int32) throws(KafkaError) {
        try withCluster { mock throws(KafkaError) in
            let err = rd_kafka_mock_coordinator_set(mock, keyType, key, brokerID)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.mock, "coordinator of \(key) not set", err) }
        }
    }

    /// Delays every response of a broker by `milliseconds` (0 removes the delay).
    public func setBrokerRoundTrip(_ brokerID: Int32, milliseconds: Int32) throws(KafkaError) {
        try withCluster { mock throws(KafkaError) in
            let err = rd_kafka_mock_broker_set_rtt(mock, brokerID, milliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .rd(.mock, "round trip of broker \(brokerID) not set", err) }
        }
    }

    /// Makes the next requests of a Kafka API fail with these errors, one per request, in order.
    ///
    /// - Parameters:
    ///   - apiKey: the Kafka protocol API key (0 Produce, 1 Fetch, 8 OffsetCommit, …; see ``KafkaAPI``).
    ///   - errors: librdkafka error codes (`rd_kafka_resp_err_t` values), e.g. ``KafkaErrorCode``.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) throws(KafkaError) {
        try withCluster { mock in
            let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
            codes.withUnsafeBufferPointer {
                rd_kafka_mock_push_request_errors_array(mock, apiKey, $0.count, $0.baseAddress)
            }
        }
    }

    /// Forgets errors pushed for an API that have not been used yet.
    public func clearRequestErrors(apiKey: Int16) throws(KafkaError) {
        try withCluster { mock in rd_kafka_mock_clear_request_errors(mock, apiKey) }
    }

    /// Makes every request of a topic fail with this error until cleared with error 0.
    public func setTopicError(_ topic: String, error: Int32) throws(KafkaError) {
        try withCluster { mock in rd_kafka_mock_topic_set_error(mock, topic, rd_kafka_resp_err_t(rawValue: error)) }
    }

    /// Stops the cluster; clients still connected see their connections close. Calling it twice is harmless.
    public func shutdown() {
        let mock = cluster.withLock { state -> OpaquePointer? in
            defer { state = nil }
            return state?.pointer
        }
        if let mock { rd_kafka_mock_cluster_destroy(mock) }
    }

    deinit {
        shutdown()
    }
}

/// The mock cluster's C handle; only touched under the cluster's lock.
private struct MockHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Kafka protocol API keys, for fault injection.
public enum KafkaAPI {
    public static let produce: Int16 = 0
    public static let fetch: Int16 = 1
    public static let listOffsets: Int16 = 2
    public static let metadata: Int16 = 3
    public static let offsetCommit: Int16 = 8
    public static let offsetFetch: Int16 = 9
    public static let findCoordinator: Int16 = 10
    public static let joinGroup: Int16 = 11
    public static let heartbeat: Int16 = 12
    public static let syncGroup: Int16 = 14
    public static let initProducerID: Int16 = 22
}

/// A few broker error codes, for fault injection (`rd_kafka_resp_err_t` values).
public enum KafkaErrorCode {
    public static let notLeaderForPartition: Int32 = 6
    public static let requestTimedOut: Int32 = 7
    public static let messageTooLarge: Int32 = 10
    public static let networkException: Int32 = 13
    public static let coordinatorNotAvailable: Int32 = 15
    public static let notCoordinator: Int32 = 16
    public static let notEnoughReplicas: Int32 = 19
    public static let rebalanceInProgress: Int32 = 27
}
