internal import CRDKafka

/// An error from Kafka or from this wrapper.
///
/// Errors that librdkafka reports carry its numeric code, its symbolic name (`_TRANSPORT`,
/// `UNKNOWN_TOPIC_OR_PART`, …) and its human text, and say whether librdkafka considers them
/// retriable or fatal. Errors that originate in the wrapper itself (a bad configuration value,
/// a client used after close) have no librdkafka code.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case configuration, client, produce, delivery, consume, commit, admin, timeout, closed, mock
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A configuration property was rejected.
        public static let configuration = Code(.configuration)
        /// A client (producer, consumer, admin) could not be created.
        public static let client = Code(.client)
        /// A record could not be enqueued for sending.
        public static let produce = Code(.produce)
        /// The broker did not acknowledge a record (its delivery report carried an error).
        public static let delivery = Code(.delivery)
        /// Consuming failed (subscription, assignment, fetch, seek, pause/resume).
        public static let consume = Code(.consume)
        /// Committing or storing offsets failed.
        public static let commit = Code(.commit)
        /// An admin request (create or describe topics) failed.
        public static let admin = Code(.admin)
        /// An operation did not complete within its deadline.
        public static let timeout = Code(.timeout)
        /// The client was already closed.
        public static let closed = Code(.closed)
        /// The embedded mock cluster refused a request.
        public static let mock = Code(.mock)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A sentence saying what was being done when it failed.
    public var reason: String
    /// librdkafka's `rd_kafka_resp_err_t` value, when librdkafka reported the error.
    public var rdKafkaCode: Int32?
    /// librdkafka's symbolic name for ``rdKafkaCode`` (`rd_kafka_err2name`), e.g. `_TRANSPORT`.
    public var rdKafkaName: String?
    /// librdkafka's human text for ``rdKafkaCode`` (`rd_kafka_err2str`), or its detailed error string.
    public var rdKafkaText: String?
    /// True when retrying the same operation may succeed.
    public var isRetriable: Bool
    /// True when the client is no longer usable (e.g. a fatal idempotent-producer error).
    public var isFatal: Bool

    public init(
        _ code: Code,
        reason: String,
        rdKafkaCode: Int32? = nil,
        rdKafkaName: String? = nil,
        rdKafkaText: String? = nil,
        isRetriable: Bool = false,
        isFatal: Bool = false
    ) {
        self.code = code
        self.reason = reason
        self.rdKafkaCode = rdKafkaCode
        self.rdKafkaName = rdKafkaName
        self.rdKafkaText = rdKafkaText
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    public var description: String {
        var text = "KafkaError.\(code): \(reason)"
        if let rdKafkaName { text += " [\(rdKafkaName)" + (rdKafkaCode.map { " (\($0))" } ?? "") + "]" }
        if let rdKafkaText { text += ": \(rdKafkaText)" }
        if isFatal { text += " (fatal)" } else if isRetriable { text += " (retriable)" }
        return text
    }
}

extension KafkaError {
    /// An error from a bare `rd_kafka_resp_err_t`.
    static func rd(_ code: Code, _ reason: String, _ err: rd_kafka_resp_err_t, detail: String? = nil) -> KafkaError {
        KafkaError(
            code,
            reason: reason,
            rdKafkaCode: err.rawValue,
            rdKafkaName: String(cString: rd_kafka_err2name(err)),
            rdKafkaText: detail ?? String(cString: rd_kafka_err2str(err)),
            isRetriable: Self.isRetriableCode(err),
            isFatal: err == RD_KAFKA_RESP_ERR__FATAL
        )
    }

    /// An error from an `rd_kafka_error_t`, which it destroys (the caller owns it and hands it over).
    static func consuming(_ code: Code, _ reason: String, _ error: OpaquePointer) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let err = rd_kafka_error_code(error)
        return KafkaError(
            code,
            reason: reason,
            rdKafkaCode: err.rawValue,
            rdKafkaName: String(cString: rd_kafka_error_name(error)),
            rdKafkaText: String(cString: rd_kafka_error_string(error)),
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || Self.isRetriableCode(err),
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
    }

    /// True when the record itself is what the client or the broker refuses (larger than the
    /// message limit, a batch too large, an invalid record): sending it again cannot succeed,
    /// however long one waits. Other delivery failures (the broker away, a leader moving, a
    /// missing topic or permission an operator can fix) are worth retrying.
    public var isPermanentForRecord: Bool {
        guard let rdKafkaCode else { return false }
        switch rd_kafka_resp_err_t(rawValue: rdKafkaCode) {
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
            RD_KAFKA_RESP_ERR_INVALID_RECORD:
            return true
        default:
            return false
        }
    }

    /// Codes that describe a transient condition: a retry can succeed without anything changing.
    static func isRetriableCode(_ err: rd_kafka_resp_err_t) -> Bool {
        switch err {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
            RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
            return true
        default:
            return false
        }
    }
}
