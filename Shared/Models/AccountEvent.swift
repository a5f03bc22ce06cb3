public import Foundation

/// A CRM or billing event on `cs.accounts` (SPEC §2), discriminated by its `type` field:
/// `profile`, `bill` or `purchase`.
///
/// On the wire the event is one flat object: `{"type": "bill", "customerId": …, "period": …}`.
public enum AccountEvent: Codable, Sendable, Hashable, Validatable {
    case profile(Profile)
    case bill(Bill)
    case purchase(Purchase)

    /// The customer's profile as the CRM knows it. Fields other than `customerId` and `at` may be
    /// absent when the CRM does not know them.
    public struct Profile: Codable, Sendable, Hashable {
        /// The customer (the record key).
        public var customerId: String
        /// When the event happened.
        public var at: Date
        /// Region code (economic levels differ by region).
        public var region: String?
        /// When the customer joined.
        public var joinedAt: Date?
        /// Credit score, 0–100.
        public var creditScore: Double?
        /// Social influence, 0–100.
        public var influence: Double?
        /// Loyalty points, ≥ 0.
        public var points: Int?
        /// Whether the customer agreed to marketing contact.
        public var marketingConsent: Bool?
        /// The customer's current plan (a catalog productId).
        public var planId: String?

        /// Makes a profile event.
        public init(
            customerId: String,
            at: Date,
            region: String? = nil,
            joinedAt: Date? = nil,
            creditScore: Double? = nil,
            influence: Double? = nil,
            points: Int? = nil,
            marketingConsent: Bool? = nil,
            planId: String? = nil
        ) {
            self.customerId = customerId
            self.at = at
            self.region = region
            self.joinedAt = joinedAt
            self.creditScore = creditScore
            self.influence = influence
            self.points = points
            self.marketingConsent = marketingConsent
            self.planId = planId
        }
    }

    /// A monthly bill with the usage it charged.
    public struct Bill: Codable, Sendable, Hashable {
        /// The customer (the record key).
        public var customerId: String
        /// When the event happened.
        public var at: Date
        /// The billing month, `YYYY-MM`.
        public var period: String
        /// The amount billed, ≥ 0, in the account currency.
        public var amount: Double
        /// Usage by metric (`voiceMinutes`, `dataMB`, `roamingMinutes`, `intlMinutes`, …), each ≥ 0.
        /// Empty when the bill carries none; always written.
        public var usage: [String: Double]

        /// Makes a bill event.
        public init(customerId: String, at: Date, period: String, amount: Double, usage: [String: Double] = [:]) {
            self.customerId = customerId
            self.at = at
            self.period = period
            self.amount = amount
            self.usage = usage
        }

        enum CodingKeys: String, CodingKey {
            case customerId, at, period, amount, usage
        }

        /// Decodes the wire shape; see the type's documentation.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            customerId = try container.decode(String.self, forKey: .customerId)
            at = try container.decode(Date.self, forKey: .at)
            period = try container.decode(String.self, forKey: .period)
            amount = try container.decode(Double.self, forKey: .amount)
            usage = try container.decodeIfPresent([String: Double].self, forKey: .usage) ?? [:]
        }
    }

    /// A product bought.
    public struct Purchase: Codable, Sendable, Hashable {
        /// The customer (the record key).
        public var customerId: String
        /// When the event happened.
        public var at: Date
        /// The amount paid, ≥ 0.
        public var amount: Double
        /// The catalog product bought.
        public var productId: String

        /// Makes a purchase event.
        public init(customerId: String, at: Date, amount: Double, productId: String) {
            self.customerId = customerId
            self.at = at
            self.amount = amount
            self.productId = productId
        }
    }

    /// The discriminator values.
    public enum EventType: String, Codable, Sendable, Hashable, CaseIterable {
        case profile, bill, purchase
    }

    /// The event's `type`.
    public var type: EventType {
        switch self {
        case .profile: return .profile
        case .bill: return .bill
        case .purchase: return .purchase
        }
    }

    /// The customer the event is about (the record key).
    public var customerId: String {
        switch self {
        case .profile(let event): return event.customerId
        case .bill(let event): return event.customerId
        case .purchase(let event): return event.customerId
        }
    }

    /// When the event happened.
    public var at: Date {
        switch self {
        case .profile(let event): return event.at
        case .bill(let event): return event.at
        case .purchase(let event): return event.at
        }
    }

    private enum TypeKey: String, CodingKey {
        case type
    }

    /// Decodes the wire shape; see the type's documentation.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: TypeKey.self)
        let name = try container.decode(String.self, forKey: .type)
        switch EventType(rawValue: name) {
        case .profile: self = .profile(try Profile(from: decoder))
        case .bill: self = .bill(try Bill(from: decoder))
        case .purchase: self = .purchase(try Purchase(from: decoder))
        case nil:
            throw DecodingError.dataCorruptedError(
                forKey: .type,
                in: container,
                debugDescription: "unknown account event type '\(name.prefix(64))' (expected profile, bill or purchase)"
            )
        }
    }

    /// Encodes the event's fields and its `type` into one flat object.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .profile(let event): try event.encode(to: encoder)
        case .bill(let event): try event.encode(to: encoder)
        case .purchase(let event): try event.encode(to: encoder)
        }
        var container = encoder.container(keyedBy: TypeKey.self)
        try container.encode(type, forKey: .type)
    }

    /// customerId non-empty; profile: creditScore and influence 0–100, points ≥ 0; bill: period
    /// `YYYY-MM` with month 01–12, amount and usage ≥ 0; purchase: amount ≥ 0, productId non-empty.
    public func validationErrors(now: Date) -> [ValidationError] {
        var checks = Checks()
        checks.required("customerId", customerId)
        switch self {
        case .profile(let event):
            checks.range("creditScore", event.creditScore, 0...100)
            checks.range("influence", event.influence, 0...100)
            checks.atLeast("points", event.points, 0)
        case .bill(let event):
            if !Self.isPeriod(event.period) {
                checks.fail("period", ValidationError.Rule.format, event.period, "must be YYYY-MM with month 01–12")
            }
            checks.atLeast("amount", event.amount, 0)
            checks.nonNegative("usage", event.usage)
        case .purchase(let event):
            checks.atLeast("amount", event.amount, 0)
            checks.required("productId", event.productId)
        }
        return checks.errors
    }

    /// `YYYY-MM`: four ASCII digits, a hyphen, a month 01–12.
    static func isPeriod(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-") else { return false }
        let digits = bytes[0..<4] + bytes[5..<7]
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        let month = Int(bytes[5] - 0x30) * 10 + Int(bytes[6] - 0x30)
        return (1...12).contains(month)
    }
}
