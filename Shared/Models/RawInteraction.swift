public import Foundation

/// What kind of contact an interaction is (SPEC §2).
public enum InteractionKind: String, Codable, Sendable, Hashable, CaseIterable {
    /// 咨询: the customer asks something.
    case inquiry
    /// 受理: the customer asks us to do something.
    case request
    /// 投诉: the customer complains.
    case complaint
    /// 回访: we call back after a contact.
    case followUp = "follow_up"
    /// 外呼: we call the customer (marketing or service).
    case outbound
    /// A survey answer about an earlier contact (`refersTo`).
    case survey
    /// A public mention: a post, an article, a hotline or regulator record.
    case opinion
}

/// The department that owns a contact (SPEC §2).
public enum Department: String, Codable, Sendable, Hashable, CaseIterable {
    case service
    case afterSales = "after_sales"
    case product
    case store
}

/// An interaction as a channel adapter publishes it on `cs.interactions.raw` (SPEC §2).
///
/// It is the untrusted input: `channel`, `kind` and `department` stay strings and the required
/// fields are optional here, so that a bad record decodes far enough for ``validationErrors(now:)``
/// to name every broken rule. Intake normalises it into an ``Interaction``.
public struct RawInteraction: Codable, Sendable, Hashable, Validatable {
    /// The adapter's idempotency key, 1–128 characters; required.
    public var eventId: String?
    /// When it happened; required, at most 5 minutes in the future.
    public var occurredAt: Date?
    /// A channel name or alias (see ``Channel/init(alias:)``); required.
    public var channel: String?
    /// An ``InteractionKind`` raw value; required.
    public var kind: String?
    /// The customer, 1–64 characters; required except for `opinion`.
    public var customerId: String?
    /// A ``Department`` raw value.
    public var department: String?
    /// Lower-cased subject, e.g. billing, plan, network, roaming, device, promotion, account.
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
    /// Survey effort 1 (very easy) – 5 (very hard) (费力度).
    public var effort: Int?
    /// Net promoter score 0–10.
    public var nps: Int?
    /// Upstream analytics' sentiment, −1…1.
    public var sentiment: Double?
    /// Detected intents, lower-cased (`churn_threat`, `interest:<family>`, `opt_out`, …).
    public var signals: [String]?
    /// For opinion: `own` or a competitor's name.
    public var brand: String?
    /// The marketing campaign the contact or post is about.
    public var campaignId: String?
    /// For opinion: views or followers, ≥ 0.
    public var reach: Int?
    /// Free text, at most 8 KiB of UTF-8; intake masks PII in it.
    public var text: String?
    /// Pass-through attributes.
    public var attributes: [String: String]?

    /// The longest `text` accepted, in UTF-8 bytes.
    public static let maxTextBytes = 8192
    /// How far in the future `occurredAt` may lie (clock skew), in seconds.
    public static let futureTolerance: TimeInterval = 300

    /// Makes a raw interaction; every field defaults to `nil`.
    public init(
        eventId: String? = nil,
        occurredAt: Date? = nil,
        channel: String? = nil,
        kind: String? = nil,
        customerId: String? = nil,
        department: String? = nil,
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
        self.channel = channel
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

    /// The channel after alias normalisation, or `nil` if missing or unknown.
    public var normalizedChannel: Channel? { channel.flatMap(Channel.init(alias:)) }

    /// The kind, or `nil` if missing or unknown.
    public var interactionKind: InteractionKind? { kind.flatMap(InteractionKind.init(rawValue:)) }

    /// Every rule of SPEC §2's RawInteraction table the record breaks.
    ///
    /// `channel` counts as known when ``Channel/init(alias:)`` recognises it.
    public func validationErrors(now: Date) -> [ValidationError] {
        var checks = Checks()
        checks.length("eventId", eventId, 1...128, required: true)
        if occurredAt == nil { checks.fail("occurredAt", ValidationError.Rule.required, nil, "is required") }
        checks.notFuture("occurredAt", occurredAt, now: now, tolerance: Self.futureTolerance)
        if let channel {
            if Channel(alias: channel) == nil {
                checks.fail("channel", ValidationError.Rule.enum, channel, "is not a known channel or alias")
            }
        } else {
            checks.fail("channel", ValidationError.Rule.required, nil, "is required")
        }
        if kind == nil { checks.fail("kind", ValidationError.Rule.required, nil, "is required") }
        checks.member("kind", kind, of: InteractionKind.self)
        checks.length("customerId", customerId, 1...64, required: kind != InteractionKind.opinion.rawValue)
        checks.member("department", department, of: Department.self)
        checkMeasures(&checks)
        return checks.errors
    }

    /// The numeric and text rules, shared with ``Interaction``.
    func checkMeasures(_ checks: inout Checks) {
        checks.atLeast("waitSeconds", waitSeconds, 0)
        checks.atLeast("handleSeconds", handleSeconds, 0)
        checks.atLeast("transfers", transfers, 0)
        checks.range("csat", csat, 1...5)
        checks.range("effort", effort, 1...5)
        checks.range("nps", nps, 0...10)
        checks.range("sentiment", sentiment, -1...1)
        checks.atLeast("reach", reach, 0)
        checks.utf8Length("text", text, max: Self.maxTextBytes)
    }
}
