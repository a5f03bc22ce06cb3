/// The checks ``Rules/validate()`` makes, each throwing a ``RulesError`` phrased the same way.
enum RuleChecks {
    static func range(_ key: String, _ value: Double, _ bounds: ClosedRange<Double>) throws(RulesError) {
        guard value.isFinite, bounds.contains(value) else {
            throw RulesError(
                key: key,
                problem: "must be between \(text(bounds.lowerBound)) and \(text(bounds.upperBound)), is \(text(value))"
            )
        }
    }

    static func range(_ key: String, _ value: Int, _ bounds: ClosedRange<Int>) throws(RulesError) {
        guard bounds.contains(value) else {
            throw RulesError(
                key: key,
                problem: "must be between \(bounds.lowerBound) and \(bounds.upperBound), is \(value)"
            )
        }
    }

    /// A finite number strictly above `minimum`.
    static func above(_ key: String, _ value: Double, _ minimum: Double) throws(RulesError) {
        guard value.isFinite, value > minimum else {
            throw RulesError(key: key, problem: "must be a finite number above \(text(minimum)), is \(text(value))")
        }
    }

    static func name(_ key: String, _ value: String) throws(RulesError) {
        guard !value.allSatisfy(\.isWhitespace) else {
            throw RulesError(key: key, problem: "must not be empty")
        }
    }

    /// A machine name: lowercase letters, digits and `_`, starting with a letter.
    static func identifier(_ key: String, _ value: String) throws(RulesError) {
        let valid =
            value.first.map { $0 >= "a" && $0 <= "z" } == true
            && value.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }
        guard valid else {
            throw RulesError(
                key: key,
                problem: "must be lowercase letters, digits and '_', starting with a letter, is '\(value)'"
            )
        }
    }

    /// Values strictly ascending, each one above the one before it.
    static func ascending<T: Comparable>(_ key: String, _ values: [T], describe: (T) -> String) throws(RulesError) {
        for index in values.indices.dropFirst() where !(values[index - 1] < values[index]) {
            throw RulesError(
                key: "\(key)[\(index)]",
                problem:
                    "must be above the value before it (\(describe(values[index - 1]))), is \(describe(values[index]))"
            )
        }
    }

    static func text(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

extension RuleChecks {
    /// A label: lowercase letters, digits, `_`, `-` and `:`, not empty.
    static func token(_ key: String, _ value: String) throws(RulesError) {
        let valid =
            !value.isEmpty
            && value.allSatisfy {
                ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" || $0 == "-" || $0 == ":"
            }
        guard valid else {
            throw RulesError(key: key, problem: "must be lowercase letters, digits, '_', '-' or ':', is '\(value)'")
        }
    }

    /// No two elements share `label`.
    static func unique<T>(_ key: String, _ values: [T], field: String, _ label: (T) -> String) throws(RulesError) {
        var seen: Set<String> = []
        for (index, value) in values.enumerated() where !seen.insert(label(value)).inserted {
            throw RulesError(key: "\(key)[\(index)].\(field)", problem: "repeats '\(label(value))'")
        }
    }
}
