import Foundation
public import Kafka
public import Logging
import Metrics
import Models
public import ServiceKit
import ServiceLifecycle

/// The webhook's settings, from the environment.
///
/// | variable | default |
/// |---|---|
/// | `TANDEM_WEBHOOK_TOKEN` | unset: the webhook is off (404) — it never runs unauthenticated |
/// | `TANDEM_WEBHOOK_MAX_BYTES` | 4194304 (4 MiB) per request body |
public struct WebhookConfiguration: Sendable, Hashable {
    /// The bearer token adapters must send; nil turns the webhook off.
    public var token: String?
    /// Larger request bodies get 413.
    public var maxBodyBytes: Int

    public static let defaultMaxBodyBytes = 4 * 1024 * 1024

    public init(token: String?, maxBodyBytes: Int = Self.defaultMaxBodyBytes) {
        self.token = token
        self.maxBodyBytes = maxBodyBytes
    }

    /// Reads `TANDEM_WEBHOOK_TOKEN` and `TANDEM_WEBHOOK_MAX_BYTES`.
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> Self {
        var configuration = WebhookConfiguration(token: nil)
        if let token = environment["TANDEM_WEBHOOK_TOKEN"] {
            guard !token.isEmpty, !token.contains(where: \.isWhitespace) else {
                throw ConfigurationError(
                    key: "TANDEM_WEBHOOK_TOKEN",
                    problem: "must be a non-empty token without spaces (unset it to turn the webhook off)"
                )
            }
            configuration.token = token
        }
        if let text = environment["TANDEM_WEBHOOK_MAX_BYTES"] {
            guard let value = Int(text), (1...(256 * 1024 * 1024)).contains(value) else {
                throw ConfigurationError(
                    key: "TANDEM_WEBHOOK_MAX_BYTES",
                    problem: "expected 1–268435456 bytes, got '\(text)'"
                )
            }
            configuration.maxBodyBytes = value
        }
        return configuration
    }
}

/// What the webhook answers: a count per outcome and one entry per record, in request order.
public struct WebhookAnswer: Codable, Sendable, Hashable {
    /// What became of one record of the request.
    public struct Result: Codable, Sendable, Hashable {
        public enum Status: String, Codable, Sendable, Hashable {
            /// On `cs.interactions.raw`, acknowledged by the broker: intake takes it from there.
            case accepted
            /// Refused for the reason given; resending it unchanged will not help.
            case rejected
            /// Valid, but the broker did not acknowledge it: resend it (intake drops repeats by eventId).
            case failed
        }

        /// 1-based line of the NDJSON body (1 for a single JSON record).
        public var line: Int
        /// The record's eventId, when it could be read.
        public var eventId: String?
        public var status: Status
        /// The dead-letter reason code intake would have given (`invalid`, `invalid_json`, …), or `broker`.
        public var reason: String?
        /// Which fields broke which rules — never a value.
        public var error: String?

        public init(line: Int, eventId: String?, status: Status, reason: String? = nil, error: String? = nil) {
            self.line = line
            self.eventId = eventId
            self.status = status
            self.reason = reason
            self.error = error
        }
    }

    public var accepted: Int
    public var rejected: Int
    public var failed: Int
    public var results: [Result]

    public init(results: [Result]) {
        self.results = results
        accepted = results.count { $0.status == .accepted }
        rejected = results.count { $0.status == .rejected }
        failed = results.count { $0.status == .failed }
    }

    /// 202 when every record was accepted, 503 when the broker failed any (retry those), else 400.
    public var httpStatus: Int {
        if failed > 0 { return 503 }
        return rejected > 0 ? 400 : 202
    }
}

/// `POST /v1/interactions`: for channel adapters that cannot speak Kafka.
///
/// The body is one JSON record (`Content-Type: application/json`) or NDJSON, one record per line
/// (any other content type; blank lines are skipped). Each record gets intake's own checks
/// (``IntakeValidator``: size, JSON, SPEC §2 rules); the valid ones go unchanged to
/// `cs.interactions.raw`, keyed like intake keys them, and the answer waits until the broker has
/// acknowledged every one. Intake then normalises, masks and deduplicates them like any other
/// raw record, so the webhook adds no second path to `cs.interactions`.
///
/// Answers: 202 all accepted; 400 some rejected (the others are accepted, and the body says
/// which); 503 the broker did not take some (resend those: intake drops repeats by eventId);
/// 401 without `Authorization: Bearer <TANDEM_WEBHOOK_TOKEN>`; 413 over
/// `TANDEM_WEBHOOK_MAX_BYTES`. Rejected records are the caller's to fix, so they are answered,
/// counted (`tandem_webhook_records_total{result}`) and logged without content, not dead-lettered.
public final class IntakeWebhook: HTTPEndpoint, CustomStringConvertible {
    public let path = "/v1/interactions"
    public let method = "POST"
    public let maxBodyBytes: Int
    private let token: [UInt8]
    private let topic: String
    private let maxRecordBytes: Int
    private let producer: KafkaProducer
    private let logger: Logger
    private let acceptedMetric: Counter
    private let rejectedMetric: Counter
    private let failedMetric: Counter
    private let unauthorizedMetric: Counter

    /// - Parameters:
    ///   - token: the bearer token (the webhook is only built when one is configured).
    ///   - producer: the producer it writes `cs.interactions.raw` with; closed when the service stops.
    public init(
        configuration: ServiceConfiguration,
        token: String,
        maxBodyBytes: Int = WebhookConfiguration.defaultMaxBodyBytes,
        maxRecordBytes: Int = 64 * 1024,
        producer: KafkaProducer,
        logger: Logger
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.token = Array(token.utf8)
        self.topic = configuration.topic(Topics.interactionsRaw)
        self.maxRecordBytes = maxRecordBytes
        self.producer = producer
        self.logger = logger
        func counter(_ result: String) -> Counter {
            Counter(label: "tandem_webhook_records_total", dimensions: [("service", "intake"), ("result", result)])
        }
        acceptedMetric = counter("accepted")
        rejectedMetric = counter("rejected")
        failedMetric = counter("failed")
        unauthorizedMetric = Counter(label: "tandem_webhook_unauthorized_total", dimensions: [("service", "intake")])
    }

    public var description: String { "IntakeWebhook(\(path))" }

    /// Keeps the producer open until the service stops, then flushes and closes it.
    public func run() async throws {
        try? await gracefulShutdown()
        await producer.close()
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        guard authorized(request.header("Authorization")) else {
            unauthorizedMetric.increment()
            return Self.json(
                401,
                #"{"error":"missing or wrong bearer token"}"#,
                headers: [("WWW-Authenticate", #"Bearer realm="tandem""#)]
            )
        }
        let records = Self.split(request.body, contentType: request.header("Content-Type"))
        guard !records.isEmpty else {
            return Self.json(400, #"{"error":"the body holds no record"}"#)
        }

        var results: [WebhookAnswer.Result] = []
        results.reserveCapacity(records.count)
        var batch = ProducerBatch(reservingCapacity: records.count, bytes: request.body.count)
        var batchIndex: [Int] = []  // results index of each batch record
        let validator = IntakeValidator(maxRecordBytes: maxRecordBytes)
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        for (line, range) in records {
            request.body.withUnsafeBytes { body in
                let value = UnsafeRawBufferPointer(rebasing: body[range])
                do throws(ProcessingFailure) {
                    let interaction = try validator.interaction(from: value, receivedAt: now)
                    let key = Array((interaction.customerId ?? interaction.eventId).utf8)
                    key.withUnsafeBytes { key in batch.append(topic: topic, key: key, value: value) }
                    batchIndex.append(results.count)
                    results.append(.init(line: line, eventId: interaction.eventId, status: .accepted))
                } catch {
                    let eventId = try? validator.decoder.decodeRawInteraction(value).eventId
                    results.append(
                        .init(
                            line: line,
                            eventId: eventId,
                            status: .rejected,
                            reason: error.reason,
                            error: error.message
                        )
                    )
                }
            }
        }
        if !batch.isEmpty {
            do {
                let reports = try await producer.send(batch)
                for (position, report) in reports.enumerated() where report.error != nil {
                    let index = batchIndex[position]
                    results[index].status = .failed
                    results[index].reason = "broker"
                    results[index].error = report.error.map {
                        "\($0.rdKafkaName ?? $0.code.description): not acknowledged by the broker"
                    }
                }
            } catch {
                for index in batchIndex {
                    results[index].status = .failed
                    results[index].reason = "broker"
                    results[index].error = "the service is stopping"
                }
            }
        }

        let answer = WebhookAnswer(results: results)
        acceptedMetric.increment(by: answer.accepted)
        rejectedMetric.increment(by: answer.rejected)
        failedMetric.increment(by: answer.failed)
        if answer.rejected > 0 || answer.failed > 0 {
            logger.info(
                "webhook records refused",
                metadata: [
                    "accepted": "\(answer.accepted)", "rejected": "\(answer.rejected)", "failed": "\(answer.failed)",
                    "reasons": "\(Set(results.compactMap(\.reason)).sorted())",
                ]
            )
        }
        let body = (try? TandemJSON.encode(answer)) ?? Array(#"{"error":"unencodable answer"}"#.utf8)
        return HTTPResponse(status: answer.httpStatus, contentType: "application/json", body: body)
    }

    /// Constant-time comparison of `Bearer <token>`.
    private func authorized(_ header: String?) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let given = Array(header.dropFirst(7).utf8)
        var difference = given.count ^ token.count
        for index in 0..<token.count { difference |= Int(token[index] ^ (index < given.count ? given[index] : 0)) }
        return difference == 0
    }

    /// The records of a body with their 1-based line: the whole body for `application/json`, else
    /// one per non-blank NDJSON line (a trailing `\r` is dropped).
    public static func split(_ body: [UInt8], contentType: String?) -> [(line: Int, range: Range<Int>)] {
        let mediaType = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        if mediaType == "application/json" {
            return isBlank(body[...]) ? [] : [(1, 0..<body.count)]
        }
        var records: [(line: Int, range: Range<Int>)] = []
        var start = 0
        var line = 1
        while start <= body.count {
            let end = body[start...].firstIndex(of: UInt8(ascii: "\n")) ?? body.count
            var last = end
            if last > start, body[last - 1] == UInt8(ascii: "\r") { last -= 1 }
            if !isBlank(body[start..<last]) { records.append((line, start..<last)) }
            start = end + 1
            line += 1
        }
        return records
    }

    private static func isBlank(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
    }

    private static func json(
        _ status: Int,
        _ text: String,
        headers: [(name: String, value: String)] = []
    ) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", headers: headers, body: Array(text.utf8))
    }
}
