import Foundation

/// The hot-path JSON codec: the same bytes and records as ``TandemJSON``, several times faster.
///
/// - Decoding goes through simdjson (see ``FastJSONDecoder``, which services should keep one of
///   per thread); the static ``decodeRawInteraction(_:)`` here makes a decoder per call and is
///   meant for tools and tests.
/// - Encoding writes bytes directly, identical to ``TandemJSON/encode(_:)`` (sorted keys, the
///   same escaping, number and timestamp formatting) and throws the same ``ModelError`` for a
///   non-finite number or a date outside years 0001–9999.
public enum FastJSON {
    /// Decodes a ``RawInteraction`` with a fresh ``FastJSONDecoder``.
    ///
    /// - Throws: the ``ModelError/decoding(field:message:)`` the reference decoder throws.
    public static func decodeRawInteraction(_ bytes: UnsafeRawBufferPointer) throws(ModelError) -> RawInteraction {
        try FastJSONDecoder().decodeRawInteraction(bytes)
    }

    /// Appends an ``Interaction`` as JSON to `buffer`: the bytes ``TandemJSON/encode(_:)`` returns.
    ///
    /// On error nothing is appended.
    ///
    /// - Throws: ``ModelError/encoding(message:)`` for a non-finite number or a date outside years
    ///   0001–9999, with the reference's message.
    public static func encode(_ interaction: Interaction, into buffer: inout [UInt8]) throws(ModelError) {
        // Foundation encodes in declaration order and stops at the first failure: check in that order.
        let occurredAt = try millis("occurredAt", interaction.occurredAt)
        let receivedAt = try millis("receivedAt", interaction.receivedAt)
        try finite("waitSeconds", interaction.waitSeconds)
        try finite("handleSeconds", interaction.handleSeconds)
        try finite("sentiment", interaction.sentiment)

        let i = interaction
        var bound = Bound()
        bound.add(i.agentId, i.brand, i.campaignId, i.channel.rawValue, i.channelGroup.rawValue, i.customerId)
        bound.add(i.department?.rawValue, i.eventId, i.kind.rawValue, i.queue, i.refersTo, i.teamId, i.text, i.topic)
        bound.add(i.signals)
        bound.add(i.attributes)
        FastJSONWriter.write(into: &buffer, bound: bound.bytes) { writer in
            writer.beginObject()
            writer.field("agentId", i.agentId)
            writer.field("answered", i.answered)
            writer.field("attributes", i.attributes)
            writer.field("brand", i.brand)
            writer.field("campaignId", i.campaignId)
            writer.field("channel", i.channel.rawValue)
            writer.field("channelGroup", i.channelGroup.rawValue)
            writer.field("csat", i.csat)
            writer.field("customerId", i.customerId)
            writer.field("department", i.department?.rawValue)
            writer.field("effort", i.effort)
            writer.field("escalation", i.escalation)
            writer.field("eventId", i.eventId)
            writer.field("handleSeconds", i.handleSeconds)
            writer.field("kind", i.kind.rawValue)
            writer.field("nps", i.nps)
            writer.field("occurredAt", millis: occurredAt)
            writer.field("queue", i.queue)
            writer.field("reach", i.reach)
            writer.field("receivedAt", millis: receivedAt)
            writer.field("refersTo", i.refersTo)
            writer.field("resolved", i.resolved)
            writer.field("sentiment", i.sentiment)
            writer.field("signals", i.signals)
            writer.field("teamId", i.teamId)
            writer.field("text", i.text)
            writer.field("topic", i.topic)
            writer.field("transfers", i.transfers)
            writer.field("waitSeconds", i.waitSeconds)
            writer.endObject()
        }
    }

    /// Appends a ``RawInteraction`` as JSON to `buffer`: the bytes ``TandemJSON/encode(_:)`` returns.
    ///
    /// On error nothing is appended.
    ///
    /// - Throws: ``ModelError/encoding(message:)`` as ``encode(_:into:)-(Interaction,_)`` does.
    public static func encode(_ raw: RawInteraction, into buffer: inout [UInt8]) throws(ModelError) {
        var occurredAt: Int64?
        if let date = raw.occurredAt { occurredAt = try millis("occurredAt", date) }
        try finite("waitSeconds", raw.waitSeconds)
        try finite("handleSeconds", raw.handleSeconds)
        try finite("sentiment", raw.sentiment)

        var bound = Bound()
        bound.add(raw.agentId, raw.brand, raw.campaignId, raw.channel, raw.customerId, raw.department, raw.eventId)
        bound.add(raw.kind, raw.queue, raw.refersTo, raw.teamId, raw.text, raw.topic)
        bound.add(raw.signals)
        bound.add(raw.attributes)
        FastJSONWriter.write(into: &buffer, bound: bound.bytes) { writer in
            writer.beginObject()
            writer.field("agentId", raw.agentId)
            writer.field("answered", raw.answered)
            writer.field("attributes", raw.attributes)
            writer.field("brand", raw.brand)
            writer.field("campaignId", raw.campaignId)
            writer.field("channel", raw.channel)
            writer.field("csat", raw.csat)
            writer.field("customerId", raw.customerId)
            writer.field("department", raw.department)
            writer.field("effort", raw.effort)
            writer.field("eventId", raw.eventId)
            writer.field("handleSeconds", raw.handleSeconds)
            writer.field("kind", raw.kind)
            writer.field("nps", raw.nps)
            if let occurredAt { writer.field("occurredAt", millis: occurredAt) }
            writer.field("queue", raw.queue)
            writer.field("reach", raw.reach)
            writer.field("refersTo", raw.refersTo)
            writer.field("resolved", raw.resolved)
            writer.field("sentiment", raw.sentiment)
            writer.field("signals", raw.signals)
            writer.field("teamId", raw.teamId)
            writer.field("text", raw.text)
            writer.field("topic", raw.topic)
            writer.field("transfers", raw.transfers)
            writer.field("waitSeconds", raw.waitSeconds)
            writer.endObject()
        }
    }

    /// Appends a ``DeadLetter`` as JSON to `buffer`: the bytes ``TandemJSON/encode(_:)`` returns.
    ///
    /// On error nothing is appended.
    ///
    /// - Throws: ``ModelError/encoding(message:)`` when `at` is outside years 0001–9999.
    public static func encode(_ letter: DeadLetter, into buffer: inout [UInt8]) throws(ModelError) {
        let at = try millis("at", letter.at)

        var bound = Bound()
        bound.add(letter.key, letter.keyEncoding?.rawValue, letter.message, letter.payload)
        bound.add(letter.payloadEncoding.rawValue, letter.reason, letter.service, letter.sourceTopic)
        bound.add(letter.replayOf)
        FastJSONWriter.write(into: &buffer, bound: bound.bytes) { writer in
            writer.beginObject()
            writer.field("at", millis: at)
            writer.field("key", letter.key)
            writer.field("keyEncoding", letter.keyEncoding?.rawValue)
            writer.field("message", letter.message)
            writer.field("payload", letter.payload)
            writer.field("payloadEncoding", letter.payloadEncoding.rawValue)
            writer.field("payloadOmittedBytes", letter.payloadOmittedBytes)
            writer.field("reason", letter.reason)
            writer.field("replayOf", letter.replayOf)
            writer.field("service", letter.service)
            writer.field("sourceOffset", letter.sourceOffset)
            writer.field("sourcePartition", Int64(letter.sourcePartition))
            writer.field("sourceTopic", letter.sourceTopic)
            writer.endObject()
        }
    }

    /// Encodes an ``Interaction`` into a new array (see ``encode(_:into:)-(Interaction,_)``).
    public static func encode(_ interaction: Interaction) throws(ModelError) -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(interaction, into: &bytes)
        return bytes
    }

    /// Encodes a ``RawInteraction`` into a new array (see ``encode(_:into:)-(RawInteraction,_)``).
    public static func encode(_ raw: RawInteraction) throws(ModelError) -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(raw, into: &bytes)
        return bytes
    }

    /// Encodes a ``DeadLetter`` into a new array (see ``encode(_:into:)-(DeadLetter,_)``).
    public static func encode(_ letter: DeadLetter) throws(ModelError) -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(letter, into: &bytes)
        return bytes
    }

    /// Sums the strings of a record for ``FastJSONWriter/bound(strings:stringBytes:)``.
    struct Bound {
        private var strings = 0
        private var stringBytes = 0

        var bytes: Int { FastJSONWriter.bound(strings: strings, stringBytes: stringBytes) }

        mutating func add(_ values: String?...) {
            for case let value? in values {
                strings += 1
                stringBytes += value.utf8.count
            }
        }

        mutating func add(_ values: [String]?) {
            for value in values ?? [] { add(value) }
        }

        mutating func add(_ values: [String: String]?) {
            for (key, value) in values ?? [:] { add(key, value) }
        }
    }

    // MARK: - The reference's encoding errors

    static func millis(_ field: String, _ date: Date) throws(ModelError) -> Int64 {
        guard let millis = FastJSONWriter.millis(date) else {
            // Foundation's `Date.description` traps on a non-finite date (the reference encoder
            // does, when it builds this message); name such a date by its interval instead.
            let interval = date.timeIntervalSince1970
            let name = interval.isFinite ? "\(date)" : "Date(timeIntervalSince1970: \(interval))"
            throw .encoding(message: "\(field): cannot encode \(name): date outside years 0001–9999")
        }
        return millis
    }

    static func finite(_ field: String, _ value: Double?) throws(ModelError) {
        guard let value, !value.isFinite else { return }
        throw .encoding(message: "\(field): cannot encode \(value): Unable to encode Double.\(value) directly in JSON.")
    }
}
