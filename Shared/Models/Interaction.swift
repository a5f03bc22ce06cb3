public import Foundation

/// A normalised interaction on `cs.interactions` (SPEC §2): the ``RawInteraction`` with a
/// canonical channel and kind, plus `receivedAt`, `channelGroup` and `escalation`.
///
/// - Important: `text` must be PII-masked before the record is published; this type does not
///   mask (intake does).
public struct Interaction: Codable, Sendable, Hashable, Validatable {
    /// The adapter's idempotency key, 1–128 characters.
    public var eventId: String
    /// When it happened.
    public var occurredAt: Date
    /// When intake received the raw record.
    public var receivedAt: Date
    /// The canonical channel.
    public var channel: Channel
    /// Always `channel.channelGroup`.
    public var channelGroup: ChannelGroup
    /// Always `channel.isEscalation`.
    public var escalation: Bool
    /// What kind of contact it is.
    public var kind: InteractionKind
    /// Absent only for `opinion`.
    public var customerId: String?
    /// The department that owns the contact.
    public var department: Department?
    /// Lower-cased subject (billing, plan, network, …).
    public var topic: String?
    /// The queue the contact went through.
    public var queue: String?
    /// The team that handled it.
    public var teamId: String?
    /// The agent who handled it.
    public var agentId: String?
    /// Live channels: seconds the customer waited, ≥ 0.
    public var waitSeconds: Double?
    /// Live channels: whether the contact was answered.
    public var answered: Bool?
    /// Seconds spent handling, ≥ 0.
    public var handleSeconds: Double?
    /// Whether the customer's issue was resolved in this contact.
    public var resolved: Bool?
    /// Hand-offs during the contact, ≥ 0.
    public var transfers: Int?
    /// For surveys: the eventId surveyed.
    public var refersTo: String?
    /// Survey satisfaction 1–5.
    public var csat: Int?
    /// Survey effort 1 (very easy) – 5 (very hard).
    public var effort: Int?
    /// Net promoter score 0–10.
    public var nps: Int?
    /// Upstream analytics' sentiment, −1…1.
    public var sentiment: Double?
    /// Detected intents, lower-cased.
    public var signals: [String]?
    /// For opinion: `own` or a competitor's name.
    public var brand: String?
    /// The marketing campaign the contact or post is about.
    public var campaignId: String?
    /// For opinion: views or followers, ≥ 0.
    public var reach: Int?
    /// PII-masked text.
    public var text: String?
    /// Pass-through attributes.
    public var attributes: [String: String]?

    /// Makes an interaction; `channelGroup` and `escalation` follow from `channel`.
    public init(
        eventId: String,
        occurredAt: Date,
        receivedAt: Date,
        channel: Channel,
        kind: InteractionKind,
        customerId: String? = nil,
        department: Department? = nil,
        topic: String? = nil,
        queue: String? = nil,
        teamId: String? = nil,
        agentId: String? = nil,
        waitSeconds: Double? = nil,
        answered: Bool? = nil,
        handleSeconds: Double? = nil,
        resolved: Bool? = nil,
        transfers: Int? = nil,
        refersTo: String? = nil,
        csat: Int? = nil,
        effort: Int? = nil,
        nps: Int? = nil,
        sentiment: Double? = nil,
        signals: [String]? = nil,
        brand: String? = nil,
        campaignId: String? = nil,
        reach: Int? = nil,
        text: String? = nil,
        attributes: [String: String]? = nil
    ) {
        self.eventId = eventId
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
        self.channel = channel
        self.channelGroup = channel.channelGroup
        self.escalation = channel.isEscalation
        self.kind = kind
        self.customerId = customerId
        self.department = department
        self.topic = topic
        self.queue = queue
        self.teamId = teamId
        self.agentId = agentId
        self.waitSeconds = waitSeconds
        self.answered = answered
        self.handleSeconds = handleSeconds
        self.resolved = resolved
        self.transfers = transfers
        self.refersTo = refersTo
        self.csat = csat
        self.effort = effort
        self.nps = nps
        self.sentiment = sentiment
        self.signals = signals
        self.brand = brand
        self.campaignId = campaignId
        self.reach = reach
        self.text = text
        self.attributes = attributes
    }

    /// Normalises a raw interaction: validates it (with `receivedAt` as "now"), resolves the
    /// channel alias, and lower-cases `topic` and `signals`. `text` is copied as is.
    ///
    /// - Throws: ``ModelError/invalid(_:)`` with every rule the raw record breaks.
    public init(normalizing raw: RawInteraction, receivedAt: Date) throws(ModelError) {
        try raw.validate(now: receivedAt)
        guard let eventId = raw.eventId, let occurredAt = raw.occurredAt, let channel = raw.normalizedChannel,
            let kind = raw.interactionKind
        else {
            // Unreachable after validation; kept so that a future rule change cannot trap.
            throw .invalid([
                ValidationError(field: "", rule: ValidationError.Rule.required, value: nil, message: "incomplete")
            ])
        }
        self.init(
            eventId: eventId,
            occurredAt: occurredAt,
            receivedAt: receivedAt,
            channel: channel,
            kind: kind,
            customerId: raw.customerId,
            department: raw.department.flatMap(Department.init(rawValue:)),
            topic: raw.topic.map(Self.normalizedToken),
            queue: raw.queue,
            teamId: raw.teamId,
            agentId: raw.agentId,
            waitSeconds: raw.waitSeconds,
            answered: raw.answered,
            handleSeconds: raw.handleSeconds,
            resolved: raw.resolved,
            transfers: raw.transfers,
            refersTo: raw.refersTo,
            csat: raw.csat,
            effort: raw.effort,
            nps: raw.nps,
            sentiment: raw.sentiment,
            signals: raw.signals?.map(Self.normalizedToken),
            brand: raw.brand,
            campaignId: raw.campaignId,
            reach: raw.reach,
            text: raw.text,
            attributes: raw.attributes
        )
    }

    /// The same record in the raw shape (canonical names as strings).
    public var raw: RawInteraction {
        RawInteraction(
            eventId: eventId,
            occurredAt: occurredAt,
            channel: channel.rawValue,
            kind: kind.rawValue,
            customerId: customerId,
            department: department?.rawValue,
            topic: topic,
            queue: queue,
            teamId: teamId,
            agentId: agentId,
            waitSeconds: waitSeconds,
            answered: answered,
            handleSeconds: handleSeconds,
            resolved: resolved,
            transfers: transfers,
            refersTo: refersTo,
            csat: csat,
            effort: effort,
            nps: nps,
            sentiment: sentiment,
            signals: signals,
            brand: brand,
            campaignId: campaignId,
            reach: reach,
            text: text,
            attributes: attributes
        )
    }

    /// The RawInteraction rules, plus `channelGroup` and `escalation` agreeing with `channel`.
    public func validationErrors(now: Date) -> [ValidationError] {
        var errors = raw.validationErrors(now: now)
        if channelGroup != channel.channelGroup {
            errors.append(
                ValidationError(
                    field: "channelGroup",
                    rule: ValidationError.Rule.consistency,
                    value: channelGroup.rawValue,
                    message: "must be \(channel.channelGroup.rawValue) for channel \(channel.rawValue)"
                )
            )
        }
        if escalation != channel.isEscalation {
            errors.append(
                ValidationError(
                    field: "escalation",
                    rule: ValidationError.Rule.consistency,
                    value: String(escalation),
                    message: "must be \(channel.isEscalation) for channel \(channel.rawValue)"
                )
            )
        }
        return errors
    }
}

extension Interaction {
    /// A topic or signal as intake publishes it: surrounding whitespace and newlines trimmed, lower-cased.
    /// Already-clean ASCII (the usual case) is returned as is, without Foundation.
    static func normalizedToken(_ text: String) -> String {
        var text = text
        let ascii: String?? = text.withUTF8 { bytes in
            guard let token = asciiToken(bytes) else { return .none }  // not ASCII: Foundation decides
            guard token.hasUpper || token.range.count < bytes.count else { return .some(nil) }  // already clean
            return String(unsafeUninitializedCapacity: token.range.count) { buffer in
                lowercase(UnsafeBufferPointer(rebasing: bytes[token.range]), into: buffer)
            }
        }
        switch ascii {
        case .some(.some(let normalized)): return normalized
        case .some(.none): return text
        case .none: return text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        }
    }

    /// How a token in ASCII normalises: what is left after trimming ASCII whitespace, and whether
    /// it has upper-case letters; nil when a non-ASCII byte is left (Foundation trims and
    /// lower-cases those, see ``normalizedToken(_:)``).
    static func asciiToken(_ bytes: UnsafeBufferPointer<UInt8>) -> (range: Range<Int>, hasUpper: Bool)? {
        var start = 0
        var end = bytes.count
        while start < end, isASCIISpace(bytes[start]) { start += 1 }
        while end > start, isASCIISpace(bytes[end - 1]) { end -= 1 }
        var hasUpper = false
        for byte in bytes[start..<end] {
            if byte >= 0x80 { return nil }
            if byte >= 0x41 && byte <= 0x5A { hasUpper = true }
        }
        return (start..<end, hasUpper)
    }

    /// Copies ASCII bytes lower-cased; returns the count.
    @discardableResult
    static func lowercase(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        for (index, byte) in bytes.enumerated() {
            buffer[index] = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
        }
        return bytes.count
    }

    private static func isASCIISpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }
}
