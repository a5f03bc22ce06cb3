import ArgumentParser
import Foundation
import Metrics
import Models
import ServiceKit

/// `tandem probe`: a minimal service on the service kit, for the kit's own process tests (kill -9,
/// restarts, rebalances, outages). Hidden from help: it is test equipment, not a product.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Run a word-counting service on the service kit (test equipment for the kit's process tests).",
        shouldDisplay: false
    )

    @Option(help: "Input topic.")
    var input: String

    @Option(help: "Output topic: one record `<key>=<count>` per input record.")
    var output: String

    @Option(help: "Changelog topic of the counts store.")
    var changelog: String

    func run() async throws {
        let (input, output, changelog) = (input, output, changelog)
        let code = await TandemService.main(name: "probe", defaultPort: 8090) { _, _ in
            ProbeProcessor(input: input, output: output, changelog: changelog)
        }
        throw ExitCode(code)
    }
}

/// Counts records per key in a changelog-backed store and writes `<key>=<count>` for each record.
/// A value `poison` is dead-lettered. A record whose change is already in the store (reprocessed
/// after a crash) is neither counted nor written again.
final class ProbeProcessor: RecordProcessor, @unchecked Sendable {
    let inputTopics: [String]
    let output: String
    let counts: KeyedStateStore<Int>
    var stores: [any StateStore] { [counts] }
    /// Records processed (outputs handed to the loop, whether acknowledged yet or not): lets a
    /// test see that the probe has taken a record.
    private let processed = Counter(label: "tandem_probe_processed_total")

    init(input: String, output: String, changelog: String) {
        inputTopics = [input]
        self.output = output
        counts = KeyedStateStore(name: "counts", changelogTopic: changelog)
    }

    func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        guard let value = record.value, let text = String(validating: value, as: UTF8.self) else {
            throw ProcessingFailure(reason: "invalid_utf8", message: "value is not UTF-8")
        }
        if text == "poison" { throw ProcessingFailure(reason: "poison", message: "the probe's poison value") }
        let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        if counts.isApplied(key, partition: record.partition, offset: record.offset) { return }
        let count = (counts.get(key, partition: record.partition) ?? 0) + 1
        counts.put(key, count, partition: record.partition, offset: record.offset)
        output.send(topic: self.output, key: Array(key.utf8), value: Array("\(key)=\(count)".utf8))
        processed.increment()
    }
}
