internal import CRDKafka

/// librdkafka configuration properties, passed through as they are.
///
/// Any property of librdkafka's CONFIGURATION.md can be set by name; only the few the wrapper
/// relies on get typed accessors. Defaults chosen by the wrapper are applied first and can be
/// overridden by the caller's properties.
public struct KafkaConfiguration: Sendable, ExpressibleByDictionaryLiteral {
    /// The raw `name → value` properties.
    public var properties: [String: String]

    public init(_ properties: [String: String] = [:]) {
        self.properties = properties
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.properties = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    /// `bootstrap.servers`: comma-separated `host:port` list.
    public var bootstrapServers: String? {
        get { properties["bootstrap.servers"] }
        set { properties["bootstrap.servers"] = newValue }
    }

    public subscript(name: String) -> String? {
        get { properties[name] }
        set { properties[name] = newValue }
    }

    /// The properties with `defaults` underneath: a caller's value always wins.
    func withDefaults(_ defaults: [String: String]) -> KafkaConfiguration {
        KafkaConfiguration(defaults.merging(properties, uniquingKeysWith: { _, caller in caller }))
    }
}

/// Owns one `rd_kafka_conf_t` until it is handed to `rd_kafka_new`.
struct RDKafkaConf: ~Copyable {
    private(set) var pointer: OpaquePointer?

    init(_ configuration: KafkaConfiguration) throws(KafkaError) {
        let conf = rd_kafka_conf_new()!
        var errbuf = [CChar](repeating: 0, count: 512)
        // Sorted so that a failure names the same property every run.
        for (name, value) in configuration.properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, name, value, &errbuf, errbuf.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let detail = errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                throw KafkaError(.configuration, reason: "property '\(name)' rejected", rdKafkaText: detail)
            }
        }
        pointer = conf
    }

    /// Hands the conf to librdkafka; the caller must not destroy it afterwards.
    mutating func take() -> OpaquePointer {
        defer { pointer = nil }
        return pointer!
    }

    deinit {
        // Still ours only when rd_kafka_new was never called or failed (it takes the conf only on success).
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }
}
