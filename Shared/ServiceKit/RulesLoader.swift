import Foundation
public import Models
import Yams

extension Rules {
    /// The rules a service runs with: the YAML file at `path` (the value of `TANDEM_RULES`) laid
    /// over ``Rules/defaults``, or the defaults alone when `path` is nil.
    ///
    /// A file may set only the keys it changes: a file holding just
    /// `leads: {contact: {caps: {high: 4}}}` keeps every other default. Lists (such as
    /// `segmentation.rfm.segments`) are replaced whole. The mappings in
    /// ``Rules/extensibleMappings`` (region classes and codes) gain the file's entries. Any other
    /// key the rules do not know is an error, so that a typo cannot silently leave a default in
    /// force. Finally the result is checked with ``Rules/validate()``.
    ///
    /// - Parameter path: the rules file, or nil for the built-in defaults.
    /// - Throws: ``ConfigurationError`` whose key is `TANDEM_RULES` when the file cannot be read or
    ///   is not YAML, and `TANDEM_RULES: <dotted key>` (e.g. `TANDEM_RULES: leads.contact.caps.high`)
    ///   for an unknown key, a value of the wrong type or a value out of range.
    public static func load(path: String?) throws(ConfigurationError) -> Rules {
        guard let path else {
            do throws(RulesError) {
                try defaults.validate()
            } catch {
                throw ConfigurationError(
                    key: "TANDEM_RULES: \(error.key)",
                    problem: "the built-in default " + error.problem
                )
            }
            return defaults
        }
        let file = try RulesFile(path: path)
        let rules = try file.rules()
        do throws(RulesError) {
            try rules.validate()
        } catch {
            throw ConfigurationError(
                key: "TANDEM_RULES: \(error.key)",
                problem: error.problem + file.line(at: error.key)
            )
        }
        return rules
    }

    /// The dotted keys that the rules file at `path` does not set, which therefore keep their
    /// built-in defaults; empty for a complete file such as the shipped `rules/tandem-rules.yaml`.
    ///
    /// - Throws: ``ConfigurationError`` as ``load(path:)`` does for a file it cannot read or
    ///   decode (it does not run ``Rules/validate()``).
    public static func keysLeftAtDefault(path: String) throws(ConfigurationError) -> [String] {
        let file = try RulesFile(path: path)
        _ = try file.rules()
        return file.defaulted
    }

}

/// A position in the YAML tree: a mapping key or a list index.
private enum Step {
    case key(String)
    case index(Int)
}

/// `segmentation.rfm.segments[2].name`: keys joined with dots, list positions in brackets.
private func dotted(_ path: [Step]) -> String {
    var text = ""
    for step in path {
        switch step {
        case .key(let key): text += text.isEmpty ? key : ".\(key)"
        case .index(let index): text += "[\(index)]"
        }
    }
    return text
}

/// A rules file read from disk, parsed, and laid over the defaults.
private final class RulesFile {
    let path: String
    let root: Node
    /// Keys of the defaults that the file does not set.
    private(set) var defaulted: [String] = []

    init(path: String) throws(ConfigurationError) {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigurationError(key: "TANDEM_RULES", problem: "no rules file at '\(path)'")
        }
        guard !isDirectory.boolValue else {
            throw ConfigurationError(key: "TANDEM_RULES", problem: "'\(path)' is a directory, not a rules file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(
                key: "TANDEM_RULES",
                problem: "cannot read the rules file '\(path)': \(error.localizedDescription)"
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(key: "TANDEM_RULES", problem: "the rules file '\(path)' is not UTF-8 text")
        }
        let parsed: Node?
        do {
            parsed = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(
                key: "TANDEM_RULES",
                problem: "the rules file '\(path)' is not valid YAML: \(Self.describe(yamlError: error))"
            )
        }
        // A file with nothing but comments keeps every default.
        root = parsed ?? Node([(Node, Node)]())
        guard case .mapping = root else {
            throw ConfigurationError(
                key: "TANDEM_RULES",
                problem:
                    "the rules file '\(path)' must be a mapping of sections (segmentation, leads, kpi, eventTime), "
                    + "found \(Self.describe(root))"
            )
        }
    }

    /// The file laid over the defaults, decoded (not yet validated).
    func rules() throws(ConfigurationError) -> Rules {
        let base: Node
        do {
            guard let node = try Yams.compose(yaml: YAMLEncoder().encode(Rules.defaults)) else {
                throw ConfigurationError(key: "TANDEM_RULES", problem: "the built-in defaults encode to nothing")
            }
            base = node
        } catch {
            throw ConfigurationError(key: "TANDEM_RULES", problem: "cannot encode the built-in defaults: \(error)")
        }
        defaulted = []
        let merged = try merge(base: base, file: root, at: [])
        do {
            return try YAMLDecoder().decode(Rules.self, from: merged)
        } catch let error as DecodingError {
            throw configurationError(error, in: merged)
        } catch {
            throw ConfigurationError(key: "TANDEM_RULES", problem: "\(error)")
        }
    }

    // MARK: Laying the file over the defaults

    private func merge(base: Node, file: Node, at path: [Step]) throws(ConfigurationError) -> Node {
        switch base {
        case .mapping(let defaults):
            guard case .mapping(let given) = file else {
                throw wrongShape(at: path, file, expected: "a mapping of keys")
            }
            let extensible = Rules.extensibleMappings.contains(dotted(path))
            var pairs: [(Node, Node)] = []
            var used: Set<String> = []
            for (key, value) in defaults {
                let name = key.string ?? ""
                if let override = Self.value(of: name, in: given) {
                    used.insert(name)
                    pairs.append((key, try merge(base: value, file: override, at: path + [.key(name)])))
                } else {
                    defaulted.append(dotted(path + [.key(name)]))
                    pairs.append((key, value))
                }
            }
            let template = defaults.values.first
            for (key, value) in given {
                let name = key.string ?? ""
                guard !used.contains(name) else { continue }
                guard extensible else {
                    let known = defaults.keys.compactMap(\.string).joined(separator: ", ")
                    throw ConfigurationError(
                        key: "TANDEM_RULES: \(dotted(path + [.key(name)]))",
                        problem: "unknown key\(Self.line(of: key)); the keys here are \(known)"
                    )
                }
                if let template { try checkShape(template: template, file: value, at: path + [.key(name)]) }
                pairs.append((Node(name), value))
            }
            return Node(pairs)
        case .sequence(let defaults):
            guard case .sequence(let given) = file else {
                throw wrongShape(at: path, file, expected: "a list")
            }
            if let template = defaults.first {
                for (index, item) in given.enumerated() {
                    try checkShape(template: template, file: item, at: path + [.index(index)])
                }
            }
            return file
        case .scalar, .alias:
            try checkShape(template: base, file: file, at: path)
            return file
        }
    }

    /// Checks that `file` has the shape of `template` (a list item, or a new entry of an extensible
    /// mapping): no unknown keys, no mapping or list where a single value belongs, no empty value.
    private func checkShape(template: Node, file: Node, at path: [Step]) throws(ConfigurationError) {
        switch template {
        case .mapping(let keys):
            guard case .mapping(let given) = file else {
                throw wrongShape(at: path, file, expected: "a mapping of keys")
            }
            for (key, value) in given {
                let name = key.string ?? ""
                guard let inner = Self.value(of: name, in: keys) else {
                    let known = keys.keys.compactMap(\.string).joined(separator: ", ")
                    throw ConfigurationError(
                        key: "TANDEM_RULES: \(dotted(path + [.key(name)]))",
                        problem: "unknown key\(Self.line(of: key)); the keys here are \(known)"
                    )
                }
                try checkShape(template: inner, file: value, at: path + [.key(name)])
            }
        case .sequence(let items):
            guard case .sequence(let given) = file else {
                throw wrongShape(at: path, file, expected: "a list")
            }
            if let inner = items.first {
                for (index, item) in given.enumerated() {
                    try checkShape(template: inner, file: item, at: path + [.index(index)])
                }
            }
        case .scalar, .alias:
            guard case .scalar = file else {
                throw wrongShape(at: path, file, expected: "a single value")
            }
            if file.null != nil {
                throw ConfigurationError(
                    key: "TANDEM_RULES: \(dotted(path))",
                    problem: "has no value\(Self.line(of: file)); remove the key to keep its default"
                )
            }
        }
    }

    private func wrongShape(at path: [Step], _ found: Node, expected: String) -> ConfigurationError {
        let key = path.isEmpty ? "TANDEM_RULES" : "TANDEM_RULES: \(dotted(path))"
        return ConfigurationError(
            key: key,
            problem: "expected \(expected)\(Self.line(of: found)), found \(Self.describe(found))"
        )
    }

    // MARK: Decoding errors

    private func configurationError(_ error: DecodingError, in merged: Node) -> ConfigurationError {
        switch error {
        case .typeMismatch(let type, let context):
            let (path, found) = Self.locate(context.codingPath, in: merged)
            return ConfigurationError(
                key: "TANDEM_RULES: \(dotted(path))",
                problem:
                    "expected \(Self.describe(type: type))\(line(at: path)), found \(found.map { Self.describe($0) } ?? "nothing")"
            )
        case .valueNotFound(let type, let context):
            let (path, _) = Self.locate(context.codingPath, in: merged)
            return ConfigurationError(
                key: "TANDEM_RULES: \(dotted(path))",
                problem: "expected \(Self.describe(type: type))\(line(at: path)), found no value"
            )
        case .keyNotFound(let key, let context):
            let (path, _) = Self.locate(context.codingPath + [key], in: merged)
            return ConfigurationError(
                key: "TANDEM_RULES: \(dotted(path))",
                problem: "is missing; the items of a list take no defaults, so each must set every key"
            )
        case .dataCorrupted(let context):
            let (path, _) = Self.locate(context.codingPath, in: merged)
            return ConfigurationError(
                key: path.isEmpty ? "TANDEM_RULES" : "TANDEM_RULES: \(dotted(path))",
                problem: "\(context.debugDescription)\(line(at: path))"
            )
        @unknown default:
            return ConfigurationError(key: "TANDEM_RULES", problem: "\(error)")
        }
    }

    /// The steps of a coding path (an integer key is a list index only where the tree holds a
    /// list: region codes are numbers too) and the node it reaches.
    private static func locate(_ codingPath: [any CodingKey], in root: Node) -> ([Step], Node?) {
        var path: [Step] = []
        var node: Node? = root
        for key in codingPath {
            if case .sequence(let items) = node, let index = key.intValue {
                path.append(.index(index))
                node = items.indices.contains(index) ? items[index] : nil
            } else {
                path.append(.key(key.stringValue))
                if case .mapping(let pairs) = node {
                    node = value(of: key.stringValue, in: pairs)
                } else {
                    node = nil
                }
            }
        }
        return (path, node)
    }

    /// ` (line N)` when the file itself sets the dotted `key` (`a.b[2].c`), else empty.
    func line(at key: String) -> String {
        var path: [Step] = []
        for part in key.split(separator: ".") {
            var rest = part[...]
            if let open = rest.firstIndex(of: "[") {
                path.append(.key(String(rest[..<open])))
                rest = rest[open...]
                while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                    guard let index = Int(rest[rest.index(after: rest.startIndex)..<close]) else { return "" }
                    path.append(.index(index))
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                path.append(.key(String(rest)))
            }
        }
        return line(at: path)
    }

    /// ` (line N)` when the file itself holds `path`, else empty.
    private func line(at path: [Step]) -> String {
        // The line of the key that names the value (a mapping's own mark is its first key's line).
        var node: Node? = root
        var mark: Mark?
        for step in path {
            switch (step, node) {
            case (.key(let key), .mapping(let pairs)?):
                let pair = pairs.first { $0.key.string == key }
                node = pair?.value
                mark = pair?.key.mark
            case (.index(let index), .sequence(let items)?):
                node = items.indices.contains(index) ? items[index] : nil
                mark = node?.mark
            default:
                node = nil
            }
            if node == nil { return "" }
        }
        return mark.map { " (line \($0.line))" } ?? ""
    }

    // MARK: Helpers

    /// A mapping's value for a key, comparing the keys' text (`110000` and `"110000"` are one key).
    private static func value(of key: String, in mapping: Node.Mapping) -> Node? {
        mapping.first { $0.key.string == key }?.value
    }

    private static func line(of node: Node) -> String {
        node.mark.map { " (line \($0.line))" } ?? ""
    }

    private static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): node.null != nil ? "no value" : "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    private static func describe(type: Any.Type) -> String {
        switch type {
        case is Int.Type: "a whole number"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "text"
        default: "\(type)"
        }
    }

    private static func describe(yamlError error: any Error) -> String {
        guard let error = error as? YamlError else { return "\(error)" }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text))" } ?? ""
            return "\(problem)\(during) at line \(mark.line), column \(mark.column)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return
                "\(keys) appear\(duplicates.count == 1 ? "s" : "") more than once in the mapping at line \(context.mark.line)"
        default:
            return "\(error)"
        }
    }
}
