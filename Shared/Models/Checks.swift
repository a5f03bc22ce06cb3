import Foundation

/// Collects broken rules while a record checks its fields, so that every record phrases its
/// errors the same way.
struct Checks {
    private(set) var errors: [ValidationError] = []

    mutating func fail(_ field: String, _ rule: String, _ value: String?, _ message: String) {
        errors.append(ValidationError(field: field, rule: rule, value: value, message: message))
    }

    /// A string that must be present and non-empty.
    mutating func required(_ field: String, _ value: String?) {
        guard let value else {
            fail(field, ValidationError.Rule.required, nil, "is required")
            return
        }
        if value.isEmpty { fail(field, ValidationError.Rule.required, value, "must not be empty") }
    }

    /// A string whose length in Unicode code points (as JSON Schema counts) lies in `bounds`;
    /// a missing value breaks `required` when `required` is true.
    mutating func length(_ field: String, _ value: String?, _ bounds: ClosedRange<Int>, required: Bool) {
        guard let value else {
            if required { fail(field, ValidationError.Rule.required, nil, "is required") }
            return
        }
        let count = value.unicodeScalars.count
        if !bounds.contains(count) {
            fail(
                field,
                ValidationError.Rule.length,
                value,
                "must be \(bounds.lowerBound)–\(bounds.upperBound) characters long, is \(count)"
            )
        }
    }

    /// A string whose UTF-8 encoding is at most `maxBytes` long.
    mutating func utf8Length(_ field: String, _ value: String?, max maxBytes: Int) {
        guard let value else { return }
        let count = value.utf8.count
        if count > maxBytes {
            fail(field, ValidationError.Rule.length, value, "must be at most \(maxBytes) bytes of UTF-8, is \(count)")
        }
    }

    /// An optional finite number in `bounds`.
    mutating func range(_ field: String, _ value: Double?, _ bounds: ClosedRange<Double>) {
        guard let value else { return }
        if !value.isFinite || !bounds.contains(value) {
            fail(
                field,
                ValidationError.Rule.range,
                text(value),
                "must be between \(text(bounds.lowerBound)) and \(text(bounds.upperBound))"
            )
        }
    }

    /// An optional finite number that is at least `minimum`.
    mutating func atLeast(_ field: String, _ value: Double?, _ minimum: Double) {
        guard let value else { return }
        if !value.isFinite || value < minimum {
            fail(field, ValidationError.Rule.range, text(value), "must be a finite number ≥ \(text(minimum))")
        }
    }

    /// An optional finite number (money, deltas).
    mutating func finite(_ field: String, _ value: Double?) {
        guard let value else { return }
        if !value.isFinite { fail(field, ValidationError.Rule.range, text(value), "must be a finite number") }
    }

    /// An optional integer in `bounds`.
    mutating func range(_ field: String, _ value: Int?, _ bounds: ClosedRange<Int>) {
        guard let value else { return }
        if !bounds.contains(value) {
            fail(
                field,
                ValidationError.Rule.range,
                String(value),
                "must be between \(bounds.lowerBound) and \(bounds.upperBound)"
            )
        }
    }

    /// An optional integer that is at least `minimum`.
    mutating func atLeast(_ field: String, _ value: Int?, _ minimum: Int) {
        guard let value else { return }
        if value < minimum { fail(field, ValidationError.Rule.range, String(value), "must be ≥ \(minimum)") }
    }

    /// Every value of a `{metric: number}` map is a finite number ≥ 0.
    mutating func nonNegative(_ field: String, _ map: [String: Double]) {
        for key in map.keys.sorted() { atLeast("\(field).\(key)", map[key], 0) }
    }

    /// An optional string that must name a member of `T`.
    mutating func member<T: RawRepresentable & CaseIterable>(_ field: String, _ value: String?, of type: T.Type)
    where T.RawValue == String {
        guard let value else { return }
        if T(rawValue: value) == nil {
            fail(
                field,
                ValidationError.Rule.enum,
                value,
                "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
    }

    /// `later` must be strictly after `earlier` when both are present.
    mutating func after(_ field: String, _ later: Date?, _ earlierField: String, _ earlier: Date?) {
        guard let later, let earlier else { return }
        if later <= earlier {
            fail(field, ValidationError.Rule.order, Timestamp.format(later), "must be after \(earlierField)")
        }
    }

    /// A timestamp not more than `tolerance` seconds after `now`.
    mutating func notFuture(_ field: String, _ value: Date?, now: Date, tolerance: TimeInterval) {
        guard let value else { return }
        if value.timeIntervalSince(now) > tolerance {
            fail(
                field,
                ValidationError.Rule.future,
                Timestamp.format(value),
                "must not be more than \(Int(tolerance)) seconds in the future"
            )
        }
    }

    private func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
