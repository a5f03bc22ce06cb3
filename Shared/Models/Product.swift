public import Foundation

/// A product of the catalog on `cs.catalog` (SPEC §2), keyed by `productId`. A null record
/// (tombstone) withdraws it.
public struct Product: Codable, Sendable, Hashable, Validatable {
    /// The product's id (the record key).
    public var productId: String
    /// The name customers see.
    public var name: String
    /// `plan`, `addon`, `device`, `service`, … (an open set).
    public var family: String
    /// The monthly fee, ≥ 0, in the account currency.
    public var monthlyFee: Double
    /// Included quantities by metric (`voiceMinutes`, `dataMB`, …), each ≥ 0. Always written.
    public var allowances: [String: Double]
    /// Price per unit beyond the allowance, by metric, each ≥ 0. Always written.
    public var overage: [String: Double]
    /// When the product starts being offered.
    public var availableFrom: Date
    /// When the product stops being offered; after `availableFrom`.
    public var availableUntil: Date?
    /// Pitch text with `{{name}}`, `{{saving}}`, `{{productName}}` placeholders.
    public var script: String?

    /// Makes a product.
    public init(
        productId: String,
        name: String,
        family: String,
        monthlyFee: Double,
        allowances: [String: Double] = [:],
        overage: [String: Double] = [:],
        availableFrom: Date,
        availableUntil: Date? = nil,
        script: String? = nil
    ) {
        self.productId = productId
        self.name = name
        self.family = family
        self.monthlyFee = monthlyFee
        self.allowances = allowances
        self.overage = overage
        self.availableFrom = availableFrom
        self.availableUntil = availableUntil
        self.script = script
    }

    enum CodingKeys: String, CodingKey {
        case productId, name, family, monthlyFee, allowances, overage, availableFrom, availableUntil, script
    }

    /// Decodes the wire shape; absent maps are empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        productId = try container.decode(String.self, forKey: .productId)
        name = try container.decode(String.self, forKey: .name)
        family = try container.decode(String.self, forKey: .family)
        monthlyFee = try container.decode(Double.self, forKey: .monthlyFee)
        allowances = try container.decodeIfPresent([String: Double].self, forKey: .allowances) ?? [:]
        overage = try container.decodeIfPresent([String: Double].self, forKey: .overage) ?? [:]
        availableFrom = try container.decode(Date.self, forKey: .availableFrom)
        availableUntil = try container.decodeIfPresent(Date.self, forKey: .availableUntil)
        script = try container.decodeIfPresent(String.self, forKey: .script)
    }

    /// productId, name and family non-empty; monthlyFee, allowances and overage ≥ 0;
    /// availableUntil after availableFrom.
    public func validationErrors(now: Date) -> [ValidationError] {
        var checks = Checks()
        checks.required("productId", productId)
        checks.required("name", name)
        checks.required("family", family)
        checks.atLeast("monthlyFee", monthlyFee, 0)
        checks.nonNegative("allowances", allowances)
        checks.nonNegative("overage", overage)
        checks.after("availableUntil", availableUntil, "availableFrom", availableFrom)
        return checks.errors
    }

    /// Whether the product is on offer at `date`.
    public func isAvailable(at date: Date) -> Bool {
        date >= availableFrom && (availableUntil.map { date < $0 } ?? true)
    }
}
