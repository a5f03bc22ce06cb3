import Kafka
import Metrics
import Synchronization

/// The processing loop's metrics, created once. Labels are bounded: service, topic, partition,
/// reason — never keys, ids or offsets.
final class LoopMetrics: Sendable {
    private let service: String
    private let recordsOut: Counter
    private let retries: Counter
    private let processing: Metrics.Timer
    private let inByTopic = Mutex<[String: Counter]>([:])
    private let deadByReason = Mutex<[String: Counter]>([:])
    private let lagGauges = Mutex<[TopicPartition: Gauge]>([:])
    private let lastLagUpdate = Mutex<ContinuousClock.Instant?>(nil)

    init(service: String) {
        self.service = service
        recordsOut = Counter(label: "tandem_records_out_total", dimensions: [("service", service)])
        retries = Counter(label: "tandem_send_retries_total", dimensions: [("service", service)])
        processing = Metrics.Timer(label: "tandem_processing_seconds", dimensions: [("service", service)])
    }

    func batchDone(perTopic: [String: Int], outputs: Int, deadLetters: [String: Int], duration: Duration) {
        for (topic, count) in perTopic {
            let counter = inByTopic.withLock { counters in
                if let counter = counters[topic] { return counter }
                let counter = Counter(
                    label: "tandem_records_in_total",
                    dimensions: [("service", service), ("topic", topic)]
                )
                counters[topic] = counter
                return counter
            }
            counter.increment(by: count)
        }
        if outputs > 0 { recordsOut.increment(by: outputs) }
        for (reason, count) in deadLetters {
            let counter = deadByReason.withLock { counters in
                if let counter = counters[reason] { return counter }
                let counter = Counter(
                    label: "tandem_dead_letters_total",
                    dimensions: [("service", service), ("reason", reason)]
                )
                counters[reason] = counter
                return counter
            }
            counter.increment(by: count)
        }
        processing.recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        )
    }

    func retried() { retries.increment() }

    /// Publishes consumer lag per partition, at most once a second (it reads cached watermarks).
    func updateLag(_ consumer: KafkaConsumer) {
        let now = ContinuousClock.now
        let due = lastLagUpdate.withLock { last -> Bool in
            if let last, now - last < .seconds(1) { return false }
            last = now
            return true
        }
        guard due, let lags = try? consumer.lag() else { return }
        for lag in lags {
            guard let value = lag.lag else { continue }
            let key = TopicPartition(topic: lag.topic, partition: lag.partition)
            let gauge = lagGauges.withLock { gauges in
                if let gauge = gauges[key] { return gauge }
                let gauge = Gauge(
                    label: "tandem_consumer_lag",
                    dimensions: [("service", service), ("topic", lag.topic), ("partition", String(lag.partition))]
                )
                gauges[key] = gauge
                return gauge
            }
            gauge.record(value)
        }
    }
}
