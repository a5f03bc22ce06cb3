public import Foundation

/// The one place where records become bytes and bytes become records (SPEC §2): UTF-8 JSON,
/// camelCase keys as declared, RFC 3339 UTC timestamps with milliseconds (see ``Timestamp``),
/// optional fields omitted when `nil`, unknown fields ignored.
///
/// Output is deterministic (sorted keys, `/` unescaped), so the same record always yields the same
/// bytes — useful for compacted topics and for tests.
public enum TandemJSON {
    /// A fresh encoder configured for the wire format. Encoders are not shared between threads.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            guard let text = Timestamp.format(date) else {
                throw EncodingError.invalidValue(
                    date,
                    .init(codingPath: encoder.codingPath, debugDescription: "date outside years 0001–9999")
                )
            }
            var container = encoder.singleValueContainer()
            try container.encode(text)
        }
        return encoder
    }

    /// A fresh decoder configured for the wire format.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "'\(text.prefix(64))' is not an RFC 3339 date-time"
                )
            }
            return date
        }
        return decoder
    }

    /// Encodes a record as UTF-8 JSON bytes.
    ///
    /// - Throws: ``ModelError/encoding(message:)`` for non-finite numbers or out-of-range dates.
    public static func encode(_ value: some Encodable) throws(ModelError) -> [UInt8] {
        do {
            return Array(try encoder().encode(value))
        } catch let error as EncodingError {
            if case .invalidValue(let value, let context) = error {
                let path = fieldPath(context.codingPath)
                throw .encoding(
                    message: "\(path.isEmpty ? "value" : path): cannot encode \(value): \(context.debugDescription)"
                )
            }
            throw .encoding(message: String(describing: error))
        } catch {
            throw .encoding(message: String(describing: error))
        }
    }

    /// Encodes a record as a JSON string (for logs and tests).
    public static func encodeString(_ value: some Encodable) throws(ModelError) -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    /// Decodes a record from UTF-8 JSON bytes. Never traps, whatever the bytes.
    ///
    /// - Throws: ``ModelError/decoding(field:message:)`` naming the offending field when it can.
    public static func decode<T: Decodable>(
        _ type: T.Type,
        from bytes: some Collection<UInt8>
    ) throws(ModelError) -> T {
        let data = Data(bytes)
        guard String(validating: data, as: UTF8.self) != nil else {
            throw .decoding(field: "", message: "payload is not valid UTF-8")
        }
        do {
            return try decoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw describe(error, data: data)
        } catch {
            throw .decoding(field: "", message: String(describing: error))
        }
    }

    /// Decodes a record from a JSON string.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws(ModelError) -> T {
        try decode(type, from: Array(text.utf8))
    }

    // MARK: - Error mapping

    private static func describe(_ error: DecodingError, data: Data) -> ModelError {
        switch error {
        case .keyNotFound(let key, let context):
            return .decoding(field: fieldPath(context.codingPath + [key]), message: "required field is missing")
        case .valueNotFound(_, let context):
            return .decoding(field: fieldPath(context.codingPath), message: "required field is null")
        case .typeMismatch(let type, let context):
            let path = fieldPath(context.codingPath)
            let expected = expectedName(type)
            if path.isEmpty { return .decoding(field: "", message: "expected \(expected), found \(found(in: data))") }
            return .decoding(field: path, message: "expected \(expected)")
        case .dataCorrupted(let context):
            if !context.codingPath.isEmpty {
                return .decoding(field: fieldPath(context.codingPath), message: context.debugDescription)
            }
            return describeDocument(data)
        @unknown default:
            return .decoding(field: "", message: String(describing: error))
        }
    }

    /// The decoder reports unparseable documents and numbers that do not fit a Swift type alike,
    /// without a path. Parse again to tell them apart and, when only one number can be to blame,
    /// name it.
    private static func describeDocument(_ data: Data) -> ModelError {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            return .decoding(field: "", message: "payload is not valid JSON" + (detail.map { ": \($0)" } ?? ""))
        }
        var suspects: [String] = []
        collectNonIntegers(object, path: "", into: &suspects)
        let message = "a number does not fit its field (too large, or a fraction where an integer is required)"
        return .decoding(field: suspects.count == 1 ? suspects[0] : "", message: message)
    }

    private static func collectNonIntegers(_ value: Any, path: String, into suspects: inout [String]) {
        if let dictionary = value as? [String: Any] {
            for (key, child) in dictionary {
                collectNonIntegers(child, path: path.isEmpty ? key : "\(path).\(key)", into: &suspects)
            }
        } else if let array = value as? [Any] {
            for (index, child) in array.enumerated() {
                collectNonIntegers(child, path: "\(path)[\(index)]", into: &suspects)
            }
        } else if let number = value as? NSNumber {
            let double = number.doubleValue
            if double != double.rounded() || abs(double) >= 9.2e18 || Int64(exactly: double) == nil {
                suspects.append(path)
            }
        }
    }

    private static func found(in data: Data) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            return "something else"
        }
        switch object {
        case is [Any]: return "an array"
        case is String: return "a string"
        case is NSNull: return "null"
        case is NSNumber, is Bool, is Double, is Int: return "a number or boolean"
        default: return "something else"
        }
    }

    private static func expectedName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int32.Type, is Int64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is [String].Type, is [Any].Type: return "an array"
        default:
            let name = String(describing: type)
            return name.hasPrefix("Dictionary") ? "a JSON object" : name.hasPrefix("Array") ? "an array" : name
        }
    }

    /// `[followUp, channel]` → `followUp.channel`; `[signals, 2]` → `signals[2]`.
    static func fieldPath(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }
}
