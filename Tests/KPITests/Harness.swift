import Foundation
import KPI
import Kafka
import Models
import ServiceKit

/// Drives a ``KPIProcessor`` without Kafka: one partition, records handed in by hand, its
/// partials handed back to it as the partials topic would, the wall clock set by the test.
final class Harness {
    let processor: KPIProcessor
    var wall: Int64
    private var offsets: [String: Int64] = [:]
    /// Everything published on cs.kpi, cs.opinion-report and cs.alerts, in order.
    private(set) var published: [ProducerRecord] = []
    /// Dead letters: reason and message.
    private(set) var failures: [ProcessingFailure] = []

    init(rules: Rules = .defaults, wall: Int64) {
        let configuration = ServiceConfiguration(service: "kpi")
        processor = KPIProcessor(configuration: configuration, rules: rules, partitionCount: 1)
        self.wall = wall
        let clock = Clock(harness: self)
        processor.wallClock = { clock.now() }
        processor.partitionsAssigned([0])
    }

    /// A reference the processor's wall-clock closure can hold without owning the harness.
    final class Clock: @unchecked Sendable {
        weak var harness: Harness?
        init(harness: Harness) { self.harness = harness }
        func now() -> Int64 { harness?.wall ?? 0 }
    }

    /// Processes one record of `topic` as a batch of its own; its outputs to the partials topic are fed back.
    func send(_ topic: String, _ json: String, key: String = "k", offset explicit: Int64? = nil) {
        send(topic, bytes: Array(json.utf8), key: key, offset: explicit)
    }

    /// Processes one record of `topic` given as bytes (the partials are binary).
    func send(_ topic: String, bytes: [UInt8], key: String = "k", offset explicit: Int64? = nil) {
        let offset = explicit ?? offsets[topic, default: 0]
        offsets[topic] = max(offsets[topic, default: 0], offset + 1)
        var output = ProcessorOutput()
        let keyBytes = Array(key.utf8)
        let failure: ProcessingFailure? = bytes.withUnsafeBytes { value in
            keyBytes.withUnsafeBytes { key in
                do throws(ProcessingFailure) {
                    try processor.process(
                        InputRecord(topic: topic, partition: 0, offset: offset, timestamp: nil, key: key, value: value),
                        into: &output
                    )
                    return nil
                } catch {
                    return error
                }
            }
        }
        if let failure { failures.append(failure) }
        // A batch of one record, as the loop would end it.
        processor.batchProcessed(wallNow: wall, into: &output)
        route(output)
    }

    /// One tick of the loop at the current wall clock.
    func tick() {
        var output = ProcessorOutput()
        processor.tick(wallNow: wall, into: &output)
        route(output)
    }

    private func route(_ output: ProcessorOutput) {
        for record in output.records {
            if record.topic == processor.partialsTopic {
                send(record.topic, bytes: record.value ?? [])
            } else {
                published.append(record)
            }
        }
    }

    /// Final KPI records by key.
    func finals() throws -> [String: KPISnapshot] {
        var finals: [String: KPISnapshot] = [:]
        for record in published where record.topic == "cs.kpi" {
            let snapshot = try TandemJSON.decode(KPISnapshot.self, from: record.value ?? [])
            if snapshot.final { finals[snapshot.key] = snapshot }
        }
        return finals
    }

    func records<T: Decodable>(_ type: T.Type, topic: String) throws -> [T] {
        try published.filter { $0.topic == topic }.map { try TandemJSON.decode(T.self, from: $0.value ?? []) }
    }
}

/// An interaction on cs.interactions as JSON, with only the given fields.
func interaction(
    _ id: String,
    at time: Date,
    channel: String = "phone",
    kind: String = "inquiry",
    customer: String? = "c1",
    extra: String = ""
) -> String {
    let customerField = customer.map { #","customerId":"\#($0)""# } ?? ""
    return
        #"{"eventId":"\#(id)","occurredAt":"\#(Timestamp.format(time)!)","receivedAt":"\#(Timestamp.format(time)!)","channel":"\#(channel)","kind":"\#(kind)"\#(customerField)\#(extra)}"#
}

/// A fixed instant: 2026-11-25T08:00:00Z (16:00 in Shanghai).
let base = Date(timeIntervalSince1970: 1_795_593_600)

func ms(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1000) }
