import Kafka
import ServiceKit
import Testing

@Suite("service configuration")
struct ConfigurationTests {
    @Test func defaultsWorkAgainstALocalBroker() throws {
        let configuration = try ServiceConfiguration.fromEnvironment([:], service: "intake", defaultPort: 8081)
        #expect(configuration.brokers == "127.0.0.1:9092")
        #expect(configuration.groupID == "tandem-intake")
        #expect(configuration.httpPort == 8081)
        #expect(configuration.topicPrefix.isEmpty)
        #expect(configuration.rulesPath == nil)
        #expect(configuration.maxBatch == 4096)
    }

    @Test func aServiceMayDefaultToItsOwnBatchSizeWhichTheEnvironmentOverrides() throws {
        let own = try ServiceConfiguration.fromEnvironment(
            [:],
            service: "intake",
            defaultPort: 8081,
            defaultMaxBatch: 32768
        )
        #expect(own.maxBatch == 32768)
        let set = try ServiceConfiguration.fromEnvironment(
            ["TANDEM_MAX_BATCH": "1000"],
            service: "intake",
            defaultPort: 8081,
            defaultMaxBatch: 32768
        )
        #expect(set.maxBatch == 1000)
    }

    @Test func kafkaVariablesPassThroughToLibrdkafka() throws {
        let configuration = try ServiceConfiguration.fromEnvironment(
            [
                "KAFKA_BROKERS": "k1:9092, k2:9093",
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_MECHANISMS": "PLAIN",
                "KAFKA_LOG__LEVEL": "7",
                "TANDEM_TOPIC_PREFIX": "staging.",
                "TANDEM_GROUP_ID": "intake-blue",
            ],
            service: "intake",
            defaultPort: 8081
        )
        #expect(configuration.brokers == "k1:9092,k2:9093")
        #expect(
            configuration.kafkaProperties == [
                "security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN", "log_level": "7",
            ]
        )
        #expect(configuration.producerConfiguration["bootstrap.servers"] == "k1:9092,k2:9093")
        #expect(configuration.consumerConfiguration["group.id"] == "intake-blue")
        #expect(configuration.topicPrefix == "staging.")
    }

    @Test(arguments: [
        ("KAFKA_BROKERS", "nohost"),
        ("KAFKA_BROKERS", "host:99999"),
        ("TANDEM_HTTP_PORT", "eighty"),
        ("TANDEM_HTTP_PORT", "0"),
        ("TANDEM_MAX_BATCH", "0"),
        ("TANDEM_GROUP_ID", ""),
    ])
    func aBadValueNamesItsVariable(name: String, value: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.fromEnvironment([name: value], service: "kpi", defaultPort: 8084)
        }
        #expect(error?.key == name)
        #expect(error?.description.contains(name) == true)
    }
}

@Suite("event-time clock")
struct EventTimeClockTests {
    @Test func eventTimeIsTheMaximumSeenAndNeverGoesBack() {
        var clock = EventTimeClock<String>(idleTimeout: .seconds(30))
        clock.observe(partition: 0, eventTime: 1_000, wallNow: 50_000)
        clock.observe(partition: 0, eventTime: 800, wallNow: 50_001)
        #expect(clock.eventTime(partition: 0) == 1_000)
        #expect(clock.eventTime(partition: 1) == nil)
    }

    @Test func anIdlePartitionFollowsTheWallClockAfterTheTimeout() {
        var clock = EventTimeClock<String>(idleTimeout: .seconds(30))
        clock.observe(partition: 3, eventTime: 1_000_000, wallNow: 5_000_000)
        // 29 s of silence: not idle yet.
        #expect(clock.advanceIdle(wallNow: 5_029_000).isEmpty)
        #expect(clock.eventTime(partition: 3) == 1_000_000)
        // 45 s of silence: event time = last event + 45 s.
        #expect(clock.advanceIdle(wallNow: 5_045_000) == [3])
        #expect(clock.eventTime(partition: 3) == 1_045_000)
    }

    @Test func timersScheduledBeforeAnyEventLeaveEventTimeUnknown() {
        // As after a restore: timers come back before the partition's first event.
        var clock = EventTimeClock<String>(idleTimeout: .seconds(30))
        clock.schedule("restored", at: 5_000, partition: 2)
        #expect(clock.eventTime(partition: 2) == nil)
        #expect(clock.dueTimers(partition: 2).isEmpty)
        #expect(clock.advanceIdle(wallNow: 1_000_000).isEmpty)
        clock.observe(partition: 2, eventTime: 6_000, wallNow: 1_000_001)
        #expect(clock.eventTime(partition: 2) == 6_000)
        #expect(clock.dueTimers(partition: 2).map(\.key) == ["restored"])
    }

    @Test func timersFireInDeadlineOrderOnceEventTimeReachesThem() {
        var clock = EventTimeClock<String>(idleTimeout: .seconds(30))
        clock.schedule("b", at: 2_000, partition: 0)
        clock.schedule("a", at: 1_500, partition: 0)
        clock.schedule("c", at: 9_000, partition: 0)
        clock.schedule("b", at: 2_500, partition: 0)  // rescheduled: only the later deadline counts
        clock.observe(partition: 0, eventTime: 1_400, wallNow: 0)
        #expect(clock.dueTimers(partition: 0).isEmpty)
        clock.observe(partition: 0, eventTime: 2_600, wallNow: 1)
        let due = clock.dueTimers(partition: 0)
        #expect(due.map(\.key) == ["a", "b"])
        #expect(due.map(\.deadline) == [1_500, 2_500])
        #expect(clock.timerCount(partition: 0) == 1)
    }
}
