import Foundation
import Kafka
import Logging
import ServiceKit
import Synchronization
import TestSupport
import Testing

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }

/// A test processor: counts words per key in a store, echoes each record upper-cased, and
/// dead-letters any value that is not valid UTF-8 or says "poison".
final class CountingProcessor: RecordProcessor, @unchecked Sendable {
    let inputTopics: [String]
    let outputTopic: String
    let counts: KeyedStateStore<Int>
    var stores: [any StateStore] { [counts] }
    let skippedAsApplied = Atomic<Int>(0)

    init(input: String, output: String, changelog: String) {
        inputTopics = [input]
        outputTopic = output
        counts = KeyedStateStore(name: "counts", changelogTopic: changelog)
    }

    func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        guard let value = record.value, let text = String(validating: value, as: UTF8.self) else {
            throw ProcessingFailure(reason: "invalid_utf8", message: "value is not UTF-8")
        }
        if text == "poison" { throw ProcessingFailure(reason: "poison", message: "the test's poison value") }
        let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        if counts.isApplied(key, partition: record.partition, offset: record.offset) {
            skippedAsApplied.add(1, ordering: .relaxed)
            return
        }
        counts.put(
            key,
            (counts.get(key, partition: record.partition) ?? 0) + 1,
            partition: record.partition,
            offset: record.offset
        )
        output.send(topic: outputTopic, key: Array(key.utf8), value: Array(text.uppercased().utf8))
    }
}

/// Schedules a timer 1.5 s of event time after each record and writes `fired:<key>` when it fires.
/// Nothing else arrives, so only the wall clock (via `tick`) can move event time there.
final class TimerProcessor: RecordProcessor, @unchecked Sendable {
    let inputTopics: [String]
    let outputTopic: String
    var stores: [any StateStore] { [] }
    var clock = EventTimeClock<String>(idleTimeout: .seconds(1))

    init(input: String, output: String) {
        inputTopics = [input]
        outputTopic = output
    }

    func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let eventTime = record.timestamp ?? 0
        clock.observe(
            partition: record.partition,
            eventTime: eventTime,
            wallNow: Int64(Date().timeIntervalSince1970 * 1000)
        )
        clock.schedule(key, at: eventTime + 1500, partition: record.partition)
        fire(partition: record.partition, into: &output)
    }

    func tick(wallNow: Int64, into output: inout ProcessorOutput) {
        for partition in clock.advanceIdle(wallNow: wallNow) { fire(partition: partition, into: &output) }
    }

    private func fire(partition: Int32, into output: inout ProcessorOutput) {
        for timer in clock.dueTimers(partition: partition) {
            output.send(topic: outputTopic, key: Array(timer.key.utf8), value: Array("fired:\(timer.key)".utf8))
        }
    }
}

/// Echoes each record; one starting with "big" is written four times over (an output larger than
/// its input); a value that is not UTF-8 is dead-lettered.
final class InflatingProcessor: RecordProcessor, @unchecked Sendable {
    let inputTopics: [String]
    let outputTopic: String
    var stores: [any StateStore] { [] }

    init(input: String, output: String) {
        inputTopics = [input]
        outputTopic = output
    }

    func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        guard let value = record.value, let text = String(validating: value, as: UTF8.self) else {
            throw ProcessingFailure(reason: "invalid_utf8", message: "value is not UTF-8")
        }
        let echo = text.hasPrefix("big") ? String(repeating: text, count: 4) : text
        output.send(topic: outputTopic, key: record.key.map { Array($0) }, value: Array(echo.utf8))
    }
}

/// Sends nothing per record; at each batch's end, the batch's last text twice under the key
/// "summary" (an output made without an input of its own).
final class BatchEndProcessor: RecordProcessor, @unchecked Sendable {
    let inputTopics: [String]
    let outputTopic: String
    var stores: [any StateStore] { [] }
    private var last: [UInt8]?

    init(input: String, output: String) {
        inputTopics = [input]
        outputTopic = output
    }

    func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        last = record.value.map { Array($0) }
    }

    func batchProcessed(wallNow: Int64, into output: inout ProcessorOutput) {
        guard let text = last else { return }
        output.send(topic: outputTopic, key: Array("summary".utf8), value: text + text)
        last = nil
    }
}

/// Remembers each record's text under its key (no output).
final class RememberingProcessor: RecordProcessor, @unchecked Sendable {
    let inputTopics: [String]
    let texts: KeyedStateStore<String>
    var stores: [any StateStore] { [texts] }

    init(input: String, changelog: String) {
        inputTopics = [input]
        texts = KeyedStateStore(name: "texts", changelogTopic: changelog)
    }

    func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let text = record.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
        texts.put(key, text, partition: record.partition, offset: record.offset)
    }
}

/// Counts like ``CountingProcessor`` and declares its output topic its own (the key is kept, so
/// partition p of the output is written only from input partition p); keeps the values of the
/// output tail a restore hands it.
final class OwnOutputProcessor: RecordProcessor, @unchecked Sendable {
    let counting: CountingProcessor
    var inputTopics: [String] { counting.inputTopics }
    var stores: [any StateStore] { counting.stores }
    var ownOutputTopics: [String] { [counting.outputTopic] }
    private(set) var tail: [String] = []

    init(input: String, output: String, changelog: String) {
        counting = CountingProcessor(input: input, output: output, changelog: changelog)
    }

    func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        try counting.process(record, into: &output)
    }

    func restoreOutputTail(_ record: InputRecord) {
        tail.append(String(decoding: record.value ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self))
    }
}

@Suite("processing loop on the embedded broker", .timeLimit(.minutes(2)))
struct ProcessingLoopTests {
    struct Topics {
        let input = uniqueName("in")
        let output = uniqueName("out")
        let changelog = uniqueName("cs.test.counts")
        let deadLetter = uniqueName("dlq")
    }

    let cluster: EmbeddedKafkaCluster
    let topics = Topics()

    init() throws {
        cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quietLogger)
        for topic in [topics.input, topics.output, topics.changelog, topics.deadLetter] {
            try cluster.createTopic(topic, partitions: 4)
        }
    }

    func configuration(group: String) -> ServiceConfiguration {
        ServiceConfiguration(
            service: "test",
            brokers: cluster.bootstrapServers,
            kafkaProperties: ["fetch.wait.max.ms": "10", "session.timeout.ms": "6000", "heartbeat.interval.ms": "300"],
            groupID: group
        )
    }

    /// A loop in its own group whose producer refuses every record over 4,000 bytes for good (as
    /// a broker refuses one over its message limit).
    func refusingOver4000Bytes<Processor: RecordProcessor>(
        _ processor: Processor
    ) throws -> ProcessingLoop<Processor> {
        var configuration = configuration(group: uniqueName("g"))
        configuration.kafkaProperties["message.max.bytes"] = "4000"
        return try ProcessingLoop(
            configuration: configuration,
            processor: processor,
            deadLetterTopic: topics.deadLetter,
            logger: quietLogger
        )
    }

    /// A loop of `processor` in `group`, running until ``stop(_:_:)``.
    func start<Processor: RecordProcessor>(
        _ processor: Processor,
        group: String
    ) throws -> (loop: ProcessingLoop<Processor>, running: Task<Void, any Error>) {
        let loop = try ProcessingLoop(
            configuration: configuration(group: group),
            processor: processor,
            deadLetterTopic: topics.deadLetter,
            logger: quietLogger
        )
        return (loop, Task { try await loop.run() })
    }

    /// Asks a running loop to stop, lets it notice (a record wakes its consumer), and waits for it.
    func stop<Processor: RecordProcessor>(
        _ loop: ProcessingLoop<Processor>,
        _ running: Task<Void, any Error>
    ) async throws {
        loop.stop()
        try await produce([("wake", Array("x".utf8))])
        try await running.value
    }

    func produce(_ values: [(key: String, value: [UInt8])]) async throws {
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers],
            logger: quietLogger
        )
        var batch = ProducerBatch()
        for (key, value) in values { batch.append(topic: topics.input, key: Array(key.utf8), value: value) }
        #expect(try await producer.send(batch).allDelivered)
        await producer.close()
    }

    func readAll(_ topic: String, count: Int) async throws -> [KafkaRecord] {
        let consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
            logger: quietLogger
        )
        try consumer.assign((0..<4).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) })
        var records: [KafkaRecord] = []
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                await consumer.close()
            }
            for await record in consumer.records {
                records.append(record)
                if records.count >= count { break }
            }
            group.cancelAll()
        }
        await consumer.close()
        return records
    }

    @Test func badRecordsAreDeadLetteredWithTheirSourceAndTheLoopGoesOn() async throws {
        let group = uniqueName("g")
        let processor = CountingProcessor(input: topics.input, output: topics.output, changelog: topics.changelog)
        let (loop, running) = try start(processor, group: group)

        try await produce([
            ("alice", Array("hello".utf8)), ("bob", [0xff, 0xfe, 0x00]), ("carol", Array("poison".utf8)),
            ("alice", Array("again".utf8)),
        ])
        try await waitUntil("four records handled") { loop.counts.recordsIn == 4 }
        #expect(loop.counts.recordsOut == 4)  // two outputs and two dead letters
        #expect(loop.counts.deadLetters == ["invalid_utf8": 1, "poison": 1])

        let letters = try await readAll(topics.deadLetter, count: 2)
        #expect(letters.count == 2)
        for letter in letters {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(letter.value ?? [])) as? [String: Any])
            #expect(json["service"] as? String == "test")
            #expect(json["sourceTopic"] as? String == topics.input)
            #expect(json["sourceOffset"] is NSNumber)
            #expect(json["sourcePartition"] is NSNumber)
            if json["reason"] as? String == "invalid_utf8" {
                #expect(letter.keyString == "bob")
                #expect(json["payloadEncoding"] as? String == "base64")
                #expect(json["payload"] as? String == Data([0xff, 0xfe, 0x00]).base64EncodedString())
            } else {
                #expect(json["reason"] as? String == "poison")
                #expect(json["payload"] as? String == "poison")
            }
        }
        let outputs = try await readAll(topics.output, count: 2)
        #expect(Set(outputs.compactMap(\.valueString)) == ["HELLO", "AGAIN"])
        loop.stop()
        try await produce([("dave", Array("wake".utf8))])  // lets the loop notice the stop
        try await running.value
        cluster.shutdown()
    }

    @Test func anIdlePartitionsTimersFireByTheWallClock() async throws {
        let processor = TimerProcessor(input: topics.input, output: topics.output)
        let loop = try ProcessingLoop(
            configuration: configuration(group: uniqueName("g")),
            processor: processor,
            deadLetterTopic: topics.deadLetter,
            logger: quietLogger
        )
        let running = Task { try await loop.run() }
        try await waitUntil("the loop to be ready") { loop.isReady }
        try await produce([("quiet-customer", Array("last words".utf8))])
        let fired = try await readAll(topics.output, count: 1)
        #expect(fired.map(\.valueString) == ["fired:quiet-customer"])
        loop.stop()
        try await running.value
        cluster.shutdown()
    }

    @Test func stateIsRestoredFromTheChangelogAndReprocessedRecordsAreNotAppliedTwice() async throws {
        let group = uniqueName("g")
        let first = CountingProcessor(input: topics.input, output: topics.output, changelog: topics.changelog)
        let (loop1, running1) = try start(first, group: group)
        let keys = (0..<40).map { "customer-\($0)" }
        try await produce(
            keys.flatMap { key in [(key, Array("a".utf8)), (key, Array("b".utf8)), (key, Array("c".utf8))] }
        )
        try await waitUntil("120 records") { loop1.counts.recordsIn == 120 }
        let before = Dictionary(
            uniqueKeysWithValues: first.counts.partitions.flatMap { first.counts.entries(partition: $0) }.map {
                ($0.key, $0.value)
            }
        )
        #expect(before.count == 40)
        #expect(before.values.allSatisfy { $0 == 3 })
        try await stop(loop1, running1)

        // A new instance of the same group: state comes back from the changelog, not from zero.
        let second = CountingProcessor(input: topics.input, output: topics.output, changelog: topics.changelog)
        let (loop2, running2) = try start(second, group: group)
        try await waitUntil("the second instance to be ready") { loop2.isReady }
        for key in keys {
            let partition = Murmur2.partition(forKey: Array(key.utf8), partitionCount: 4)
            #expect(second.counts.get(key, partition: partition) == 3)
        }
        try await produce([("customer-1", Array("d".utf8))])
        try await waitUntil("the next record") {
            second.counts.get(
                "customer-1",
                partition: Murmur2.partition(forKey: Array("customer-1".utf8), partitionCount: 4)
            ) == 4
        }
        try await stop(loop2, running2)
        cluster.shutdown()
    }

    /// Every state change carries, for its partition, the offset through which the loop's own
    /// outputs are reflected: a restart reads only the outputs after it — here none but one
    /// written behind the loop's back (as an output acknowledged just before a crash whose change
    /// never reached the changelog would be).
    @Test func aRestoreReadsOnlyTheOutputsTheChangelogDoesNotReflect() async throws {
        let group = uniqueName("g")
        let first = OwnOutputProcessor(input: topics.input, output: topics.output, changelog: topics.changelog)
        let (loop, running) = try start(first, group: group)
        try await produce((0..<40).map { ("customer-\($0 % 20)", Array("text \($0)".utf8)) })
        try await waitUntil("40 records") { loop.counts.recordsIn == 40 }
        try await stop(loop, running)
        #expect(first.tail.isEmpty)
        // One change per key at least (the two records of a key may come in one batch or two).
        let changelog = try await readAll(topics.changelog, count: 20)
        #expect(changelog.count == 20)
        for record in changelog {
            let marks = record.headers.filter { $0.name == ProcessingLoop<OwnOutputProcessor>.outputTailHeader }
            #expect(
                marks.count == 1,
                "a change without its mark: partition \(record.partition), offset \(record.offset)"
            )
        }

        let stray = Array("customer-3".utf8)
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers],
            logger: quietLogger
        )
        var batch = ProducerBatch()
        batch.append(topic: topics.output, key: stray, value: Array("STRAY".utf8))
        #expect(try await producer.send(batch).allDelivered)
        await producer.close()

        let second = OwnOutputProcessor(input: topics.input, output: topics.output, changelog: topics.changelog)
        let (loop2, running2) = try start(second, group: group)
        try await waitUntil("the restarted loop to be ready") { loop2.isReady }
        #expect(second.tail == ["STRAY"])
        #expect(
            second.counting.counts.get("customer-3", partition: Murmur2.partition(forKey: stray, partitionCount: 4))
                == 2
        )
        try await stop(loop2, running2)
        cluster.shutdown()
    }

    /// A changelog written without marks (by a loop with no own outputs, or before marks
    /// existed): a restore reads the whole window of the output's tail, as it did before.
    @Test func aChangelogWithoutMarksRestoresTheWholeOutputWindow() async throws {
        let group = uniqueName("g")
        let (loop, running) = try start(
            CountingProcessor(input: topics.input, output: topics.output, changelog: topics.changelog),
            group: group
        )
        try await produce((0..<40).map { ("customer-\($0 % 20)", Array("text \($0)".utf8)) })
        try await waitUntil("40 records") { loop.counts.recordsIn == 40 }
        try await stop(loop, running)

        let second = OwnOutputProcessor(input: topics.input, output: topics.output, changelog: topics.changelog)
        let (loop2, running2) = try start(second, group: group)
        try await waitUntil("the restarted loop to be ready") { loop2.isReady }
        // Every output (and the wake-up's, should the first loop have processed it).
        let outputs = Set((0..<40).map { "TEXT \($0)" })
        #expect(Set(second.tail).isSuperset(of: outputs) && second.tail.count <= 41, "tail: \(second.tail)")
        try await stop(loop2, running2)
        cluster.shutdown()
    }

    /// Three shards split the partitions (p % 3), process their shares in parallel, and together
    /// do what one processor does; a restart with two shards restores each shard's partitions.
    @Test func shardsSplitThePartitionsAndRestoreTheirOwnState() async throws {
        let group = uniqueName("g")
        let shards = (0..<3).map { _ in
            CountingProcessor(input: topics.input, output: topics.output, changelog: topics.changelog)
        }
        let loop = try ProcessingLoop(
            configuration: configuration(group: group),
            processors: shards,
            deadLetterTopic: topics.deadLetter,
            logger: quietLogger
        )
        let running = Task { try await loop.run() }
        let keys = (0..<60).map { "customer-\($0)" }
        var records = keys.flatMap { key in [(key, Array("a".utf8)), (key, Array("b".utf8))] }
        records.append(("customer-7", Array("poison".utf8)))
        try await produce(records)
        try await waitUntil("121 records") { loop.counts.recordsIn == 121 }
        #expect(loop.counts.deadLetters == ["poison": 1])
        var total = 0
        for (index, shard) in shards.enumerated() {
            for partition in shard.counts.partitions {
                #expect(Int(partition) % 3 == index, "shard \(index) holds partition \(partition)")
                for (key, count) in shard.counts.entries(partition: partition) {
                    #expect(Murmur2.partition(forKey: Array(key.utf8), partitionCount: 4) == partition)
                    #expect(count == 2)
                    total += 1
                }
            }
        }
        #expect(total == 60)
        let outputs = try await readAll(topics.output, count: 120)
        #expect(outputs.count == 120)
        try await stop(loop, running)

        let restarted = (0..<2).map { _ in
            CountingProcessor(input: topics.input, output: topics.output, changelog: topics.changelog)
        }
        let loop2 = try ProcessingLoop(
            configuration: configuration(group: group),
            processors: restarted,
            deadLetterTopic: topics.deadLetter,
            logger: quietLogger
        )
        let running2 = Task { try await loop2.run() }
        try await waitUntil("the restarted loop to be ready") { loop2.isReady }
        for key in keys {
            let partition = Murmur2.partition(forKey: Array(key.utf8), partitionCount: 4)
            #expect(restarted[Int(partition) % 2].counts.get(key, partition: partition) == 2)
            #expect(restarted[1 - Int(partition) % 2].counts.get(key, partition: partition) == nil)
        }
        try await stop(loop2, running2)
        cluster.shutdown()
    }

    @Test func anOutputRefusedForGoodDeadLettersItsInputAndTheLoopGoesOn() async throws {
        let loop = try refusingOver4000Bytes(InflatingProcessor(input: topics.input, output: topics.output))
        let running = Task { try await loop.run() }
        let big = "big" + String(repeating: "x", count: 1500)  // its output, four times as long, is refused
        let invalid: [UInt8] = [0xff] + Array(repeating: 0x41, count: 3200)  // its dead letter (base64) is refused
        try await produce([("alice", Array("hello".utf8)), ("bob", Array(big.utf8)), ("dan", invalid)])
        try await waitUntil("three records handled") { loop.counts.recordsIn == 3 }
        try await produce([("carol", Array("after".utf8))])
        try await waitUntil("the loop to go on") { loop.counts.recordsIn == 4 }
        #expect(loop.counts.deadLetters == ["undeliverable": 1, "invalid_utf8": 1])
        #expect(loop.counts.recordsOut == 4)  // two outputs, two dead letters
        #expect(loop.counts.retries == 0)

        let outputs = try await readAll(topics.output, count: 2)
        #expect(Set(outputs.compactMap(\.valueString)) == ["hello", "after"])
        let letters = try await readAll(topics.deadLetter, count: 2)
        #expect(letters.count == 2)
        for letter in letters {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(letter.value ?? [])) as? [String: Any])
            #expect(json["sourceTopic"] as? String == topics.input)
            #expect(json["sourceOffset"] is NSNumber)
            let message = json["message"] as? String ?? ""
            if letter.keyString == "bob" {
                // The input, whole, for replay once the limit is raised.
                #expect(json["reason"] as? String == "undeliverable")
                #expect(json["payload"] as? String == big)
                #expect(message.contains(topics.output) && message.contains("6012 bytes"))
            } else {
                // Its own dead letter was too large: written again without the payload.
                #expect(letter.keyString == "dan")
                #expect(json["reason"] as? String == "invalid_utf8")
                #expect(json["payload"] == nil || json["payload"] is NSNull)
                #expect(message.contains("3201 bytes, is omitted"))
                #expect(json["payloadOmittedBytes"] as? Int == 3201)
            }
        }
        try await stop(loop, running)
        cluster.shutdown()
    }

    @Test func aStateChangeRefusedForGoodStopsTheLoopSayingWhy() async throws {
        let loop = try refusingOver4000Bytes(RememberingProcessor(input: topics.input, changelog: topics.changelog))
        let running = Task { try await loop.run() }
        try await produce([("erin", Array(String(repeating: "y", count: 4500).utf8))])
        // Committing past a change the store could not write would lose it: the loop stops instead.
        let error = await #expect(throws: UndeliverableStateChange.self) {
            try await running.value
        }
        #expect(error?.topic == topics.changelog)
        #expect(error.map { "\($0)" }?.contains("max.message.bytes") == true)
        cluster.shutdown()
    }

    @Test func aRefusedOutputMadeWithoutAnInputIsDeadLetteredItself() async throws {
        let loop = try refusingOver4000Bytes(BatchEndProcessor(input: topics.input, output: topics.output))
        let running = Task { try await loop.run() }
        try await produce([("frank", Array(String(repeating: "z", count: 2500).utf8))])
        try await waitUntil("the record handled") { loop.counts.recordsIn == 1 }
        #expect(loop.counts.deadLetters == ["undeliverable": 1])
        let letters = try await readAll(topics.deadLetter, count: 1)
        let letter = try #require(letters.first)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(letter.value ?? [])) as? [String: Any])
        // Where it was to go (a replay sends it there), no input coordinates, and no payload:
        // the letter would be larger than the output the broker refused.
        #expect(letter.keyString == "summary")
        #expect(json["reason"] as? String == "undeliverable")
        #expect(json["sourceTopic"] as? String == topics.output)
        #expect(json["sourcePartition"] as? Int == -1)
        #expect(json["sourceOffset"] as? Int == -1)
        #expect(json["payload"] == nil || json["payload"] is NSNull)
        #expect((json["message"] as? String ?? "").contains("5000 bytes, is omitted"))
        #expect(json["payloadOmittedBytes"] as? Int == 5000)
        try await stop(loop, running)
        cluster.shutdown()
    }
}
