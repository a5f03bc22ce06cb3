public import Foundation

/// A record a service could not process, on `cs.deadletter` (SPEC §2): nothing is lost silently.
public struct DeadLetter: Codable, Sendable, Hashable, Validatable {
    /// How `key` or `payload` carries the original bytes.
    public enum Encoding: String, Codable, Sendable, Hashable, CaseIterable {
        /// The bytes were valid UTF-8 and are the string itself.
        case utf8
        /// The bytes were not valid UTF-8; the string is their standard base64 encoding.
        case base64
    }

    /// The service that gave up (`intake`, `segmentation`, `leads`, `kpi`).
    public var service: String
    /// A stable reason code, e.g. `undecodable`, `invalid`, `future_timestamp`.
    public var reason: String
    /// A human-readable message.
    public var message: String
    /// The topic the record was read from.
    public var sourceTopic: String
    /// Its partition.
    public var sourcePartition: Int32
    /// Its offset.
    public var sourceOffset: Int64
    /// The original key, absent when the record had none.
    public var key: String?
    /// How `key` is encoded; present exactly when `key` is.
    public var keyEncoding: Encoding?
    /// The original payload, absent for a tombstone — and when it was left out (see
    /// `payloadOmittedBytes`).
    public var payload: String?
    /// How `payload` is encoded; always written (`utf8` for a tombstone).
    public var payloadEncoding: Encoding
    /// Present when the payload was left out because the dead letter with it was larger than the
    /// broker takes: the original's size in bytes. The original is still at the source
    /// coordinates (within that topic's retention); such a letter cannot be replayed from here.
    public var payloadOmittedBytes: Int?
    /// When the record was dead-lettered.
    public var at: Date
    /// When the failed record was itself a replay (`tandem deadletters replay`): the dead letter
    /// it replayed, `partition/offset` on the dead-letter topic.
    public var replayOf: String?

    /// Makes a dead letter from already-encoded fields.
    public init(
        service: String,
        reason: String,
        message: String,
        sourceTopic: String,
        sourcePartition: Int32,
        sourceOffset: Int64,
        key: String?,
        keyEncoding: Encoding?,
        payload: String?,
        payloadEncoding: Encoding,
        at: Date,
        replayOf: String? = nil
    ) {
        self.replayOf = replayOf
        self.service = service
        self.reason = reason
        self.message = message
        self.sourceTopic = sourceTopic
        self.sourcePartition = sourcePartition
        self.sourceOffset = sourceOffset
        self.key = key
        self.keyEncoding = keyEncoding
        self.payload = payload
        self.payloadEncoding = payloadEncoding
        self.at = at
    }

    /// Makes a dead letter from the original record's bytes: text when they are valid UTF-8,
    /// base64 otherwise.
    public init(
        service: String,
        reason: String,
        message: String,
        sourceTopic: String,
        sourcePartition: Int32,
        sourceOffset: Int64,
        originalKey: [UInt8]?,
        originalPayload: [UInt8]?,
        at: Date,
        replayOf: String? = nil
    ) {
        let key = originalKey.map(Self.encode)
        let payload = originalPayload.map(Self.encode)
        self.init(
            service: service,
            reason: reason,
            message: message,
            sourceTopic: sourceTopic,
            sourcePartition: sourcePartition,
            sourceOffset: sourceOffset,
            key: key?.text,
            keyEncoding: key?.encoding,
            payload: payload?.text,
            payloadEncoding: payload?.encoding ?? .utf8,
            at: at,
            replayOf: replayOf
        )
    }

    /// The original key bytes, or `nil` if there was none or `key` is not valid base64.
    public var originalKey: [UInt8]? { key.flatMap { Self.decode($0, keyEncoding ?? .utf8) } }

    /// The original payload bytes, or `nil` for a tombstone or if `payload` is not valid base64.
    public var originalPayload: [UInt8]? { payload.flatMap { Self.decode($0, payloadEncoding) } }

    /// service, reason and sourceTopic non-empty; sourcePartition and sourceOffset ≥ 0, or both
    /// −1 for an output made without an input (a timer's, a batch end's) that the broker refused
    /// (sourceTopic is then where it was to go); keyEncoding present exactly when key is.
    public func validationErrors(now: Date) -> [ValidationError] {
        var checks = Checks()
        checks.required("service", service)
        checks.required("reason", reason)
        checks.required("sourceTopic", sourceTopic)
        checks.atLeast("sourcePartition", Int(sourcePartition), -1)
        checks.atLeast("sourceOffset", Int(sourceOffset), -1)
        if (key == nil) != (keyEncoding == nil) {
            checks.fail(
                "keyEncoding",
                ValidationError.Rule.consistency,
                keyEncoding?.rawValue,
                "must be present exactly when key is"
            )
        }
        return checks.errors
    }

    private static func encode(_ bytes: [UInt8]) -> (text: String, encoding: Encoding) {
        if let text = String(validating: bytes, as: UTF8.self) { return (text, .utf8) }
        return (Data(bytes).base64EncodedString(), .base64)
    }

    private static func decode(_ text: String, _ encoding: Encoding) -> [UInt8]? {
        switch encoding {
        case .utf8: return Array(text.utf8)
        case .base64: return Data(base64Encoded: text).map(Array.init)
        }
    }
}
