import Foundation

/// Dead letters: what the loop writes to `cs.deadletter` for a record it could not handle.
enum DeadLetters {
    /// The dead-letter record (SPEC §2) for a failed input record, as JSON bytes.
    static func encode(
        service: String,
        failure: ProcessingFailure,
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        payload: [UInt8]?
    ) -> [UInt8] {
        // TEMPORARY until Models.DeadLetter lands (same session).
        struct Letter: Encodable {
            var service, reason, message, sourceTopic: String
            var sourcePartition: Int32
            var sourceOffset: Int64
            var key: String?
            var payload: String?
            var payloadEncoding: String
            var at: String
        }
        let text = payload.flatMap { String(validating: $0, as: UTF8.self) }
        let letter = Letter(
            service: service,
            reason: failure.reason,
            message: failure.message,
            sourceTopic: topic,
            sourcePartition: partition,
            sourceOffset: offset,
            key: key.map { String(decoding: $0, as: UTF8.self) },
            payload: text ?? payload.map { Data($0).base64EncodedString() },
            payloadEncoding: text == nil && payload != nil ? "base64" : "utf8",
            at: ISO8601DateFormatter().string(from: Date())
        )
        return Array((try? JSONEncoder().encode(letter)) ?? Data())
    }
}
