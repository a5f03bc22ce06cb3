public import Foundation

/// A record that could not be read, written, or that breaks a rule of the wire format (SPEC §2).
///
/// Services turn it into a dead letter: ``reason`` is the stable reason code, `description` the
/// human message.
public enum ModelError: Error, Hashable, CustomStringConvertible {
    /// The bytes are not a record of the expected shape: not UTF-8, not JSON, not an object, a
    /// missing required key, a value of the wrong type, or a number that does not fit its field.
    ///
    /// `field` is the dotted path of the offending value (`followUp.channel`, `signals[2]`), or
    /// the empty string when the problem is the document as a whole or could not be located.
    case decoding(field: String, message: String)
    /// The record decoded but breaks one or more rules; never empty.
    case invalid([ValidationError])
    /// The value cannot be written as JSON (a non-finite number or a date outside years 1–9999).
    case encoding(message: String)

    /// A stable, low-cardinality code for dead letters and metrics labels:
    /// `undecodable`, `invalid` or `unencodable`.
    public var reason: String {
        switch self {
        case .decoding: return "undecodable"
        case .invalid: return "invalid"
        case .encoding: return "unencodable"
        }
    }

    /// The validation errors, empty for decoding and encoding errors.
    public var validationErrors: [ValidationError] {
        if case .invalid(let errors) = self { return errors }
        return []
    }

    /// The field and the message, for logs and dead letters.
    public var description: String {
        switch self {
        case .decoding(let field, let message):
            return field.isEmpty ? message : "\(field): \(message)"
        case .invalid(let errors):
            return errors.map(\.description).joined(separator: "; ")
        case .encoding(let message):
            return message
        }
    }
}

/// One broken rule of a record: which field, which rule, the offending value and a sentence.
///
/// `field` and `rule` are stable and meant for code and tests; `message` is for people.
public struct ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The dotted path of the field (`eventId`, `followUp.expiresAt`, `usage.dataMB`).
    public var field: String
    /// The rule broken, a stable code: one of the static members of ``Rule``.
    public var rule: String
    /// The offending value as text (truncated to 64 characters), or `nil` when it is missing.
    public var value: String?
    /// A human-readable sentence.
    public var message: String

    /// Makes an error; long values are truncated so that a 100 KB text does not travel in logs.
    public init(field: String, rule: String, value: String?, message: String) {
        self.field = field
        self.rule = rule
        self.value = value.map { $0.count > 64 ? String($0.prefix(64)) + "…" : $0 }
        self.message = message
    }

    /// The stable rule codes.
    public enum Rule {
        /// A required field is missing or empty.
        public static let required = "required"
        /// A string is shorter or longer than allowed.
        public static let length = "length"
        /// A number is outside its range (or not finite).
        public static let range = "range"
        /// A value is not one of the allowed names.
        public static let `enum` = "enum"
        /// A timestamp lies too far in the future.
        public static let future = "future"
        /// A string does not have the required format (e.g. a bill period `YYYY-MM`).
        public static let format = "format"
        /// Two timestamps are in the wrong order (e.g. `availableUntil` before `availableFrom`).
        public static let order = "order"
        /// Two fields disagree (e.g. `channelGroup` does not match `channel`).
        public static let consistency = "consistency"
    }

    /// `field: message [rule]`.
    public var description: String { "\(field): \(message) [\(rule)]" }
}

/// Records that check their own rules.
public protocol Validatable {
    /// Every rule the record breaks, in field order; empty when the record is valid.
    ///
    /// - Parameter now: the current time, for rules about the future.
    func validationErrors(now: Date) -> [ValidationError]
}

extension Validatable {
    /// Checks every rule.
    ///
    /// - Parameter now: the current time, for rules about the future.
    /// - Throws: ``ModelError/invalid(_:)`` with every broken rule.
    public func validate(now: Date = Date()) throws(ModelError) {
        let errors = validationErrors(now: now)
        if !errors.isEmpty { throw .invalid(errors) }
    }
}
