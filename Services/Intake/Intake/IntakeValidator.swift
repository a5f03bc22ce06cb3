public import Models
public import ServiceKit

/// Steps 1–4 of intake for one record value — size, decode, validate and normalise, mask — shared
/// by the processing loop and the webhook, so both give a record the same verdict and reason.
///
/// - Important: not thread-safe (it keeps one ``FastJSONDecoder``): one per loop or per request.
public struct IntakeValidator {
    /// The largest record value accepted, in bytes (default 64 KiB); larger ones are `oversized`.
    public var maxRecordBytes: Int
    let decoder = FastJSONDecoder()

    public init(maxRecordBytes: Int = 64 * 1024) {
        self.maxRecordBytes = maxRecordBytes
    }

    /// The normalised, masked interaction of a raw record value.
    ///
    /// - Parameter receivedAt: the wall clock in ms since the epoch, stamped as `receivedAt`.
    /// - Throws: a ``ProcessingFailure`` whose reason is `oversized`, `invalid_json`,
    ///   `not_an_object`, `invalid_field` or `invalid`, and whose message names fields and rules,
    ///   never values.
    public func interaction(
        from value: UnsafeRawBufferPointer?,
        receivedAt: Int64
    ) throws(ProcessingFailure) -> Interaction {
        guard let value else {
            throw ProcessingFailure(reason: "invalid_json", message: "the record has no value")
        }
        guard value.count <= maxRecordBytes else {
            throw ProcessingFailure(
                reason: "oversized",
                message: "the record is \(value.count) bytes, more than the \(maxRecordBytes) accepted"
            )
        }
        let raw: RawInteraction
        do {
            raw = try decoder.decodeRawInteraction(value)
        } catch {
            throw Self.decodingFailure(error, value: value)
        }
        var interaction: Interaction
        do {
            interaction = try Interaction(
                normalizing: raw,
                receivedAt: Timestamp.date(millisecondsSince1970: receivedAt)
            )
        } catch {
            throw Self.validationFailure(error)
        }
        if let text = interaction.text { interaction.text = PIIMasker.mask(text) }
        if let attributes = interaction.attributes { interaction.attributes = attributes.mapValues(PIIMasker.mask) }
        return interaction
    }

    // MARK: Failures

    /// Maps a decoding error to `invalid_json`, `not_an_object` or `invalid_field`.
    static func decodingFailure(_ error: ModelError, value: UnsafeRawBufferPointer) -> ProcessingFailure {
        guard case .decoding(let field, let message) = error else {
            return ProcessingFailure(reason: "invalid_json", message: "the payload cannot be read")
        }
        // The reference decoder's messages may quote a value: keep them only when they do not.
        let detail = message.contains("'") || message.contains("\"") ? "a value of the wrong type or format" : message
        if !field.isEmpty {
            return ProcessingFailure(reason: "invalid_field", message: "\(field): \(detail)")
        }
        if message.hasPrefix("payload is not valid") {
            return ProcessingFailure(
                reason: "invalid_json",
                message: message.contains("UTF-8") ? "payload is not valid UTF-8" : "payload is not valid JSON"
            )
        }
        if firstNonWhitespace(value) != UInt8(ascii: "{") {
            return ProcessingFailure(reason: "not_an_object", message: "the payload is JSON but not an object")
        }
        return ProcessingFailure(reason: "invalid_field", message: detail)
    }

    /// Maps validation errors to `invalid` with `field: rule` for every broken rule.
    static func validationFailure(_ error: ModelError) -> ProcessingFailure {
        let errors = error.validationErrors
        guard !errors.isEmpty else { return ProcessingFailure(reason: "invalid", message: error.reason) }
        return ProcessingFailure(
            reason: "invalid",
            message: errors.map { "\($0.field): \($0.rule)" }.joined(separator: "; ")
        )
    }

    static func firstNonWhitespace(_ bytes: UnsafeRawBufferPointer) -> UInt8? {
        for byte in bytes where byte != 0x20 && byte != 0x0A && byte != 0x0D && byte != 0x09 { return byte }
        return nil
    }
}
