import Foundation
import Kafka
import Models

/// Dead letters: what the loop writes to `cs.deadletter` for a record it could not handle.
enum DeadLetters {
    /// The header `tandem deadletters replay` puts on a replayed record: the dead letter's
    /// `partition/offset`. A replayed record that fails again carries it as `replayOf`.
    static let replayHeader = "tandem.replay-of"

    /// The reason of an input whose output the broker refused for good (e.g. larger than its
    /// message limit): replay it once the cause is mended.
    static let undeliverable = "undeliverable"

    /// The dead-letter record (SPEC §2) for a failed input record, as JSON bytes.
    static func encode(
        service: String,
        failure: ProcessingFailure,
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        payload: [UInt8]?,
        replayOf: String? = nil
    ) -> [UInt8] {
        let letter = DeadLetter(
            service: service,
            reason: failure.reason,
            message: failure.message,
            sourceTopic: topic,
            sourcePartition: partition,
            sourceOffset: offset,
            originalKey: key,
            originalPayload: payload,
            at: Date(),
            replayOf: replayOf
        )
        do {
            return try FastJSON.encode(letter)  // TandemJSON's bytes, without Foundation's encoder
        } catch {
            // Encoding a struct of strings and numbers cannot fail; if it ever did, the record must
            // still not be lost: fall back to a minimal letter that names the source.
            return Array(
                #"{"service":"\#(service)","reason":"\#(failure.reason)","sourceTopic":"\#(topic)","sourcePartition":\#(partition),"sourceOffset":\#(offset)}"#
                    .utf8
            )
        }
    }

    /// A dead-letter record again without the original payload (the source coordinates, which
    /// locate it, stay), its message saying why. A value that is not a dead letter stays as it is.
    static func withoutPayload(_ letter: ProducerRecord, because why: String) -> ProducerRecord {
        guard let value = letter.value, var decoded = try? TandemJSON.decode(DeadLetter.self, from: value) else {
            return letter
        }
        let bytes = decoded.originalPayload?.count ?? 0
        decoded.payload = nil
        decoded.payloadOmittedBytes = bytes
        decoded.message += " (the payload, \(bytes) bytes, is omitted: the dead letter was refused: \(why))"
        var stripped = letter
        stripped.value = (try? FastJSON.encode(decoded)) ?? value
        return stripped
    }
}
