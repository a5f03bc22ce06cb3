import Foundation
public import Kafka
public import Models

/// A configuration value that stops a service at start: which key, and what is wrong with it.
public struct ConfigurationError: Error, Hashable, CustomStringConvertible {
    /// The environment variable (or rules-file key) at fault.
    public var key: String
    /// What is wrong with its value.
    public var problem: String

    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { "configuration error: \(key): \(problem)" }
}

/// A service's configuration, read from environment variables. Every variable has a default that
/// works against a local `tandem dev-broker`.
///
/// | variable | type | default |
/// |---|---|---|
/// | `KAFKA_BROKERS` | `host:port,…` | `127.0.0.1:9092` |
/// | `KAFKA_<PROPERTY>` | any librdkafka property | — (`KAFKA_SECURITY_PROTOCOL` → `security.protocol`; `__` stands for `_`, e.g. `KAFKA_LOG__LEVEL` → `log_level`) |
/// | `TANDEM_TOPIC_PREFIX` | string | empty |
/// | `TANDEM_GROUP_ID` | string | `tandem-<service>` |
/// | `TANDEM_HTTP_PORT` | 1–65535 | the service's own port |
/// | `TANDEM_RULES` | path | built-in rules |
/// | `TANDEM_MAX_BATCH` | 1–100000 | the service's default records per processing batch (intake: 32768; others: 4096) |
/// | `TANDEM_THREADS` | 1–64 | the service's default (intake: the number of cores; others: 1) |
/// | `TANDEM_LOG_LEVEL` | trace…critical | info (read by ``TandemService``) |
///
/// Business rules, windows and the event-time idle timeout live in the rules file (`TANDEM_RULES`).
public struct ServiceConfiguration: Sendable {
    public var service: String
    public var brokers: String
    /// librdkafka properties from `KAFKA_<PROPERTY>` variables.
    public var kafkaProperties: [String: String]
    public var topicPrefix: String
    public var groupID: String
    public var httpPort: Int
    public var rulesPath: String?
    public var maxBatch: Int
    /// Processing threads (the loop's shards), when set by `TANDEM_THREADS`.
    public var threads: Int?

    public init(
        service: String,
        brokers: String = "127.0.0.1:9092",
        kafkaProperties: [String: String] = [:],
        topicPrefix: String = "",
        groupID: String? = nil,
        httpPort: Int = 0,
        rulesPath: String? = nil,
        maxBatch: Int = ServiceConfiguration.defaultMaxBatch
    ) {
        self.service = service
        self.brokers = brokers
        self.kafkaProperties = kafkaProperties
        self.topicPrefix = topicPrefix
        self.groupID = groupID ?? "tandem-\(service)"
        self.httpPort = httpPort
        self.rulesPath = rulesPath
        self.maxBatch = maxBatch
    }

    /// Records per processing batch unless a service or `TANDEM_MAX_BATCH` says otherwise.
    public static let defaultMaxBatch = 4096

    /// Reads the configuration of `service` from `environment`.
    ///
    /// - Throws: ``ConfigurationError`` naming the first variable with a bad value.
    public static func fromEnvironment(
        _ environment: [String: String],
        service: String,
        defaultPort: Int,
        defaultMaxBatch: Int = ServiceConfiguration.defaultMaxBatch
    ) throws(ConfigurationError) -> ServiceConfiguration {
        var configuration = ServiceConfiguration(service: service, httpPort: defaultPort, maxBatch: defaultMaxBatch)
        if let brokers = environment["KAFKA_BROKERS"] {
            let servers = brokers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !servers.isEmpty, servers.allSatisfy(isHostPort) else {
                throw ConfigurationError(
                    key: "KAFKA_BROKERS",
                    problem: "expected host:port[,host:port…], got '\(brokers)'"
                )
            }
            configuration.brokers = servers.joined(separator: ",")
        }
        for (name, value) in environment where name.hasPrefix("KAFKA_") && name != "KAFKA_BROKERS" {
            let property = kafkaProperty(fromVariable: name)
            guard !property.isEmpty else {
                throw ConfigurationError(key: name, problem: "names no librdkafka property")
            }
            configuration.kafkaProperties[property] = value
        }
        configuration.topicPrefix = environment["TANDEM_TOPIC_PREFIX"] ?? ""
        if let group = environment["TANDEM_GROUP_ID"] {
            guard !group.isEmpty else { throw ConfigurationError(key: "TANDEM_GROUP_ID", problem: "must not be empty") }
            configuration.groupID = group
        }
        if let port = environment["TANDEM_HTTP_PORT"] {
            guard let value = Int(port), (1...65535).contains(value) else {
                throw ConfigurationError(key: "TANDEM_HTTP_PORT", problem: "expected a port 1–65535, got '\(port)'")
            }
            configuration.httpPort = value
        }
        if let rules = environment["TANDEM_RULES"], !rules.isEmpty { configuration.rulesPath = rules }
        if let text = environment["TANDEM_THREADS"] {
            guard let value = Int(text), (1...64).contains(value) else {
                throw ConfigurationError(key: "TANDEM_THREADS", problem: "expected 1–64, got '\(text)'")
            }
            configuration.threads = value
        }
        if let batch = environment["TANDEM_MAX_BATCH"] {
            guard let value = Int(batch), (1...100_000).contains(value) else {
                throw ConfigurationError(key: "TANDEM_MAX_BATCH", problem: "expected 1–100000, got '\(batch)'")
            }
            configuration.maxBatch = value
        }
        return configuration
    }

    /// `KAFKA_SECURITY_PROTOCOL` → `security.protocol`; `__` → `_` (`KAFKA_LOG__LEVEL` → `log_level`).
    public static func kafkaProperty(fromVariable name: String) -> String {
        name.dropFirst("KAFKA_".count)
            .lowercased()
            .replacingOccurrences(of: "__", with: "\u{0}")
            .replacingOccurrences(of: "_", with: ".")
            .replacingOccurrences(of: "\u{0}", with: "_")
    }

    private static func isHostPort(_ server: String) -> Bool {
        guard let colon = server.lastIndex(of: ":"), colon != server.startIndex else { return false }
        guard let port = Int(server[server.index(after: colon)...]) else { return false }
        return (1...65535).contains(port)
    }

    /// The deployed name of a topic (with the prefix).
    public func topic(_ spec: TopicSpec) -> String { topicPrefix + spec.name }

    /// Producer properties: the brokers, then every `KAFKA_<PROPERTY>`.
    public var producerConfiguration: KafkaConfiguration {
        KafkaConfiguration(kafkaProperties.merging(["bootstrap.servers": brokers]) { _, brokers in brokers })
    }

    /// Consumer properties for this service's group.
    public var consumerConfiguration: KafkaConfiguration {
        var configuration = producerConfiguration
        configuration["group.id"] = configuration["group.id"] ?? groupID
        return configuration
    }
}
