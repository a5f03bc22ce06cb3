import Foundation
import Models

/// Dead letters: what the loop writes to `cs.deadletter` for a record it could not handle.
enum DeadLetters {
    /// The header `tandem deadletters replay` puts on a replayed record: the dead letter's
    /// `partition/offset`. A replayed record that fails again carries it as `replayOf`.
    static let replayHeader = "tandem.replay-of"

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
}
