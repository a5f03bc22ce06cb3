internal import CSimdjson

/// Intake's hot path in one pass: a raw interaction's JSON bytes in (SPEC §2), the clean
/// interaction's JSON bytes out — exactly what ``Interaction/init(normalizing:receivedAt:)``,
/// masking `text` and the `attributes` values, and ``FastJSON/encode(_:into:)-(Interaction,_)``
/// give together, without building a ``RawInteraction`` or an ``Interaction`` on the way: fields
/// are checked and written from the parser's bytes.
///
/// It takes the common case and **declines** (returns nil) everything else, which the caller
/// hands to that reference path for the verdict and the error message: a payload the simdjson
/// walk does not read by itself (see ``FastJSONDecoder``), any broken rule, an `occurredAt`
/// within a millisecond of the future limit (the reference compares dates in floating point), a
/// date outside years 0001–9999, and a `topic` or signal with non-ASCII letters (the reference
/// lower-cases those with Foundation). So it never accepts what the reference rejects, and what
/// it writes is byte for byte what the reference writes — the differential tests hold it to both.
///
/// - Important: not thread-safe (one parser and its buffers): one transcoder per loop.
public final class InteractionTranscoder {
    /// The transcoded record's identity and key.
    public struct Clean {
        /// The event id's bytes, for deduplication, borrowed from the parser: valid until the
        /// next ``transcode(_:receivedAt:)``.
        public var eventId: UnsafeRawBufferPointer
        /// `occurredAt` in milliseconds since the epoch.
        public var occurredAt: Int64
        /// The output key's bytes — `customerId`, else `eventId` (SPEC §1) — borrowed from the
        /// parser: valid until the next ``transcode(_:receivedAt:)``.
        public var key: UnsafeRawBufferPointer
        /// The clean record's JSON, borrowed from the transcoder: valid until the next
        /// ``transcode(_:receivedAt:)``.
        public var value: UnsafeRawBufferPointer
    }

    /// Masks personal data in UTF-8 text: the masked bytes, or nil when there is nothing to mask.
    public typealias Mask = (UnsafeBufferPointer<UInt8>) -> [UInt8]?

    private let schema = RawField.parser()
    /// The names matched and written, this transcoder's own: shared tables would be retained and
    /// released by every shard's thread on every record, and their reference counts would bounce
    /// between cores (it measured as the largest single cost of the hot path with two shards).
    /// The same goes for the JSON written from them: it lies in ``written``, freed with the
    /// transcoder, and is passed around as pointers, which (unlike arrays) are not retained and
    /// released on every record.
    private let channelNames = Channel.exactNames()
    private let written: WrittenNames
    private let kinds: NameTable<Named<InteractionKind>>
    private let departments: NameTable<Named<Department>>
    /// Each channel's name and group as written (plain ASCII: no escapes).
    private let channels: [(channel: Channel, name: UnsafeBufferPointer<UInt8>, group: UnsafeBufferPointer<UInt8>)]
    private let scratch = FastJSONWriter.Scratch()
    private let mask: Mask
    /// How many records this transcoder declined (a metric: a high share means lost speed).
    public private(set) var declined = 0

    /// - Parameter mask: applied to `text` and to every `attributes` value, as intake masks them.
    public init(mask: @escaping Mask) {
        self.mask = mask
        let written = WrittenNames()
        self.written = written
        kinds = NameTable(InteractionKind.allCases.map { ($0.rawValue, Named($0, json: written.quoted($0.rawValue))) })
        departments = NameTable(Department.allCases.map { ($0.rawValue, Named($0, json: written.quoted($0.rawValue))) })
        channels = Channel.allCases.map {
            (channel: $0, name: written.quoted($0.rawValue), group: written.quoted($0.channelGroup.rawValue))
        }
    }

    /// The clean interaction of a raw record value, or nil when declined.
    ///
    /// - Parameter receivedAt: the wall clock in ms since the epoch: `receivedAt`, and the "now"
    ///   of the rule on future dates.
    /// - Returns: the record's id, event time, key and JSON; nil when declined.
    public func transcode(_ bytes: UnsafeRawBufferPointer, receivedAt: Int64) -> Clean? {
        let clean = read(bytes, receivedAt: receivedAt)
        if clean == nil { declined += 1 }
        return clean
    }

    private func read(_ bytes: UnsafeRawBufferPointer, receivedAt: Int64) -> Clean? {
        let result = schema.parse(bytes)
        guard result.status == SimdjsonSchemaParser.ok else { return nil }
        let slots = schema.slots
        let strings = result.strings
        func present(_ field: RawField) -> Bool { slots[field.rawValue].state == SimdjsonSchemaParser.present }
        func utf8(_ field: RawField) -> UnsafeBufferPointer<UInt8>? {
            present(field) ? SimdjsonSchemaParser.utf8(slots[field.rawValue].string) : nil
        }
        func int(_ field: RawField) -> Int? { present(field) ? Int(slots[field.rawValue].integer) : nil }
        func double(_ field: RawField) -> Double? { present(field) ? slots[field.rawValue].number : nil }
        func bool(_ field: RawField) -> Bool? { present(field) ? slots[field.rawValue].boolean != 0 : nil }
        func listed(_ field: RawField) -> Range<Int> {
            let slot = slots[field.rawValue]
            return present(field) && strings != nil ? Int(slot.first)..<Int(slot.first + slot.count) : 0..<0
        }
        func listed(_ index: Int) -> UnsafeBufferPointer<UInt8> {
            strings.map { SimdjsonSchemaParser.utf8($0[index]) } ?? UnsafeBufferPointer(start: nil, count: 0)
        }

        // RawInteraction's rules (validationErrors), in its order.
        guard let eventId = utf8(.eventId), Self.scalars(eventId, within: 128),
            present(.occurredAt),
            let occurredAt = FastTimestamp.parseMilliseconds(slots[RawField.occurredAt.rawValue].string),
            Self.encodable.contains(occurredAt), Self.encodable.contains(receivedAt),
            occurredAt - receivedAt < Self.futureLimit,
            let channelName = utf8(.channel), let channel = Channel(aliasUTF8: channelName, table: channelNames),
            let kindName = utf8(.kind), let kind = kinds.value(kindName)
        else { return nil }
        let names = channels.first { $0.channel == channel }!
        let customerId = utf8(.customerId)
        if let customerId {
            guard Self.scalars(customerId, within: 64) else { return nil }
        } else if kind.value != .opinion {
            return nil
        }
        var department: Named<Department>?
        if let name = utf8(.department) {
            guard let known = departments.value(name) else { return nil }
            department = known
        }
        if let value = double(.waitSeconds), !(value >= 0) { return nil }
        if let value = double(.handleSeconds), !(value >= 0) { return nil }
        if let value = int(.transfers), value < 0 { return nil }
        if let value = int(.csat), !(1...5).contains(value) { return nil }
        if let value = int(.effort), !(1...5).contains(value) { return nil }
        if let value = int(.nps), !(0...10).contains(value) { return nil }
        if let value = double(.sentiment), !(-1...1).contains(value) { return nil }
        if let value = int(.reach), value < 0 { return nil }
        let text = utf8(.text)
        if let text, text.count > RawInteraction.maxTextBytes { return nil }

        // Normalisation: tokens the reference lower-cases without Foundation are taken here.
        if let topic = utf8(.topic), Interaction.asciiToken(topic) == nil { return nil }
        let signals = listed(.signals)
        for index in signals where Interaction.asciiToken(listed(index)) == nil { return nil }
        let maskedText = text.flatMap(mask)
        let attributes =
            present(.attributes)
            ? FastJSONDecoder.stringMap(slots[RawField.attributes.rawValue], strings).mapValues(maskString) : nil

        // Every string written comes from the payload (unescaped, so no longer than there), except
        // the masked ones and the canonical names.
        var stringBytes = bytes.count + (maskedText?.count ?? 0) + 64
        for (key, value) in attributes ?? [:] { stringBytes += key.utf8.count + value.utf8.count }
        let bound = FastJSONWriter.bound(
            strings: 32 + signals.count + 2 * (attributes?.count ?? 0),
            stringBytes: stringBytes
        )
        let value = FastJSONWriter.write(into: scratch, bound: bound) { writer in
            writer.beginObject()
            if let value = utf8(.agentId) { writer.field("agentId", utf8: value) }
            writer.field("answered", bool(.answered))
            writer.field("attributes", attributes)
            if let value = utf8(.brand) { writer.field("brand", utf8: value) }
            if let value = utf8(.campaignId) { writer.field("campaignId", utf8: value) }
            writer.field("channel", json: names.name)
            writer.field("channelGroup", json: names.group)
            writer.field("csat", int(.csat))
            if let customerId { writer.field("customerId", utf8: customerId) }
            if let department { writer.field("department", json: department.json) }
            writer.field("effort", int(.effort))
            writer.field("escalation", channel.isEscalation)
            writer.field("eventId", utf8: eventId)
            writer.field("handleSeconds", double(.handleSeconds))
            writer.field("kind", json: kind.json)
            writer.field("nps", int(.nps))
            writer.field("occurredAt", millis: occurredAt)
            if let value = utf8(.queue) { writer.field("queue", utf8: value) }
            writer.field("reach", int(.reach))
            writer.field("receivedAt", millis: receivedAt)
            if let value = utf8(.refersTo) { writer.field("refersTo", utf8: value) }
            writer.field("resolved", bool(.resolved))
            writer.field("sentiment", double(.sentiment))
            if present(.signals) {
                writer.field("signals", count: signals.count) { writer, index in
                    Self.writeToken(listed(signals.lowerBound + index), into: &writer)
                }
            }
            if let value = utf8(.teamId) { writer.field("teamId", utf8: value) }
            if let maskedText {
                maskedText.withUnsafeBufferPointer { writer.field("text", utf8: $0) }
            } else if let text {
                writer.field("text", utf8: text)
            }
            if let topic = utf8(.topic) {
                writer.key("topic")
                Self.writeToken(topic, into: &writer)
            }
            writer.field("transfers", int(.transfers))
            writer.field("waitSeconds", double(.waitSeconds))
            writer.endObject()
        }
        return Clean(
            eventId: UnsafeRawBufferPointer(eventId),
            occurredAt: occurredAt,
            key: UnsafeRawBufferPointer(customerId ?? eventId),
            value: value
        )
    }

    private func maskString(_ text: String) -> String {
        var text = text
        guard let masked = text.withUTF8(mask) else { return text }
        return String(decoding: masked, as: UTF8.self)
    }

    /// A topic or signal, trimmed and lower-cased (``Interaction/normalizedToken(_:)``): ASCII
    /// on its bytes (records with other tokens are declined before writing starts; should one
    /// come here, it is still written correctly, by the reference's own function).
    private static func writeToken(_ bytes: UnsafeBufferPointer<UInt8>, into writer: inout FastJSONWriter) {
        guard let token = Interaction.asciiToken(bytes) else {
            writer.string(Interaction.normalizedToken(string(bytes)))
            return
        }
        let trimmed = UnsafeBufferPointer(rebasing: bytes[token.range])
        guard token.hasUpper else {
            writer.string(utf8: trimmed)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: trimmed.count) { lowered in
            Interaction.lowercase(trimmed, into: lowered)
            writer.string(utf8: UnsafeBufferPointer(lowered))
        }
    }

    /// Whether valid UTF-8 holds 1…`maximum` Unicode scalars (``Checks`` counts scalars).
    private static func scalars(_ bytes: UnsafeBufferPointer<UInt8>, within maximum: Int) -> Bool {
        // A scalar is one to four bytes: no counting unless the bytes exceed the maximum.
        guard bytes.count > maximum else { return bytes.count > 0 }
        var count = 0
        for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
        return count <= maximum
    }

    /// A name written from a table: its value and its JSON (quoted, in the transcoder's
    /// ``WrittenNames``), so that records are matched and written without making a string.
    /// Sendable as the table requires: the bytes are written once, before any use, and only read.
    private struct Named<Value: Sendable>: @unchecked Sendable {
        var value: Value
        var json: UnsafeBufferPointer<UInt8>

        init(_ value: Value, json: UnsafeBufferPointer<UInt8>) {
            self.value = value
            self.json = json
        }
    }

    /// The quoted names a transcoder writes, each in memory of its own that lives, unchanged,
    /// exactly as long as this object (the transcoder's).
    private final class WrittenNames {
        private var held: [UnsafeMutableBufferPointer<UInt8>] = []

        /// `"name"` as bytes that stay valid while this object lives.
        func quoted(_ name: String) -> UnsafeBufferPointer<UInt8> {
            let bytes = Array("\"\(name)\"".utf8)
            let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
            _ = copy.initialize(from: bytes)
            held.append(copy)
            return UnsafeBufferPointer(copy)
        }

        deinit { held.forEach { $0.deallocate() } }
    }

    @inline(__always)
    private static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// The milliseconds a timestamp is written for: 0001-01-01T00:00:00.000Z…9999-12-31T23:59:59.999Z.
    static let encodable: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// `occurredAt` is taken when it is less than this many ms after `receivedAt`: the rule's 300 s
    /// less a millisecond of margin either side of the limit, which the reference decides.
    static let futureLimit = Int64(RawInteraction.futureTolerance * 1000) - 1
}

@available(*, unavailable, message: "an InteractionTranscoder is used from one thread at a time")
extension InteractionTranscoder: Sendable {}
