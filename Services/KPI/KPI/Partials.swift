public import Foundation
public import Models

/// One dimension value's counters in a partial.
public struct PartialCell: Codable, Sendable, Hashable {
    public var d: KPIDimension
    public var v: String
    public var c: [Int64]
    public var t: [String: Int64]?

    init(dimension: KPIDimension, value: String, counters: KPICounters) {
        d = dimension
        v = value
        c = counters.values
        t = counters.tallies.isEmpty ? nil : counters.tallies
    }

    var counters: KPICounters { KPICounters(values: c, tallies: t ?? [:]) }

    init(d: KPIDimension, v: String, c: [Int64], t: [String: Int64]?) {
        self.d = d
        self.v = v
        self.c = c
        self.t = t
    }
}

/// A record of the internal topic `cs.kpi.partials`: either one input partition's counters of
/// one window (`partial`), or how far an input partition has closed its windows (`watermark`).
///
/// Partials are keyed `<size>/<start>` (hours: `hour`, so that one merger holds the hourly
/// history the alerts and the rolling report need); a watermark is sent to every partition.
public struct PartialMessage: Codable, Sendable, Hashable {
    /// `partial` or `watermark`.
    public var type: String
    /// The input partition it comes from.
    public var source: Int32
    /// The input topics' partition count: a window is final once every one has closed it.
    public var partitions: Int32
    public var size: KPIWindowSize?
    public var start: Int64?
    public var end: Int64?
    /// True for the partition's last word on the window (its event time passed end + grace).
    public var final: Bool?
    public var cells: [PartialCell]?
    /// The message as JSON, written by hand: a day window's partial holds thousands of cells.
    public var json: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + (cells?.count ?? 0) * 200)
        func add(_ text: String) { out.append(contentsOf: text.utf8) }
        add("{\"type\":\"\(type)\",\"source\":")
        CellStore.appendInteger(Int64(source), to: &out)
        add(",\"partitions\":")
        CellStore.appendInteger(Int64(partitions), to: &out)
        if let size { add(",\"size\":\"\(size.rawValue)\"") }
        if let start {
            add(",\"start\":")
            CellStore.appendInteger(start, to: &out)
        }
        if let end {
            add(",\"end\":")
            CellStore.appendInteger(end, to: &out)
        }
        if let final { add(final ? ",\"final\":true" : ",\"final\":false") }
        if let cells {
            add(",\"cells\":[")
            for (index, cell) in cells.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                add("{\"d\":\"\(cell.d.rawValue)\",\"v\":")
                add(CellStore.jsonString(cell.v))
                add(",\"c\":[")
                for (position, value) in cell.c.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    CellStore.appendInteger(value, to: &out)
                }
                out.append(UInt8(ascii: "]"))
                if let tallies = cell.t {
                    add(",\"t\":{")
                    for (position, (key, count)) in tallies.sorted(by: { $0.key < $1.key }).enumerated() {
                        if position > 0 { out.append(UInt8(ascii: ",")) }
                        add(CellStore.jsonString(key) + ":")
                        CellStore.appendInteger(count, to: &out)
                    }
                    out.append(UInt8(ascii: "}"))
                }
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        if let closed {
            add(",\"closed\":{")
            for (position, (key, time)) in closed.sorted(by: { $0.key < $1.key }).enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                add("\"\(key)\":")
                CellStore.appendInteger(time, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Watermark: window size → the event time through which the partition has closed its windows
    /// (every window with end + grace ≤ it).
    public var closed: [String: Int64]?
}

/// What the merger keeps of one partition's partial (store `cs.kpi.merge`), and of a final
/// hour's overall tallies (the alerts' and rolling report's history).
public struct MergePart: Codable, Sendable, Hashable {
    public var final: Bool
    public var end: Int64
    public var cells: [PartialCell]
}

/// The customer's tier (from `cs.segments`) and recent contacts by topic (for repeat contacts).
///
/// On the changelog it is one compact string, `<tier>;<topic>=<time>:<offset>,<time>:<offset>;…`
/// (one is written per changed customer per batch: Foundation's keyed containers cost more
/// than the rest of the record's processing).
public struct CustomerState: Codable, Sendable, Hashable {
    /// `high`, `mid` or `low`.
    public var tier: String?
    /// Topic → [[event time, offset in cs.interactions]] of recent customer-initiated contacts.
    public var recent: [String: [[Int64]]]?

    public init(tier: String? = nil, recent: [String: [[Int64]]]? = nil) {
        self.tier = tier
        self.recent = recent
    }

    /// The compact form (topics are lower-cased words; `;`, `=`, `,` and `:` in one are escaped).
    var compact: String { String(decoding: compactBytes(), as: UTF8.self) }

    /// The compact form as UTF-8; JSON-safe (the tier is a word, topics are escaped).
    func compactBytes(into out: inout [UInt8]) {
        if let tier { out.append(contentsOf: Self.escape(tier).utf8) }
        guard let recent else { return }
        for (topic, contacts) in recent.sorted(by: { $0.key < $1.key }) {
            out.append(UInt8(ascii: ";"))
            out.append(contentsOf: Self.escape(topic).utf8)
            out.append(UInt8(ascii: "="))
            for (index, contact) in contacts.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                CellStore.appendInteger(contact[0], to: &out)
                out.append(UInt8(ascii: ":"))
                CellStore.appendInteger(contact[1], to: &out)
            }
        }
    }

    func compactBytes() -> [UInt8] {
        var out: [UInt8] = []
        compactBytes(into: &out)
        return out
    }

    init?(compact: String) {
        var parts = compact.split(separator: ";", omittingEmptySubsequences: false)
        guard !parts.isEmpty else { return nil }
        let tier = parts.removeFirst()
        self.tier = tier.isEmpty ? nil : String(tier)
        var recent: [String: [[Int64]]] = [:]
        for part in parts {
            guard let equals = part.firstIndex(of: "=") else { return nil }
            let topic = Self.unescape(String(part[..<equals]))
            var contacts: [[Int64]] = []
            for pair in part[part.index(after: equals)...].split(separator: ",") {
                let numbers = pair.split(separator: ":").compactMap { Int64($0) }
                guard numbers.count == 2 else { return nil }
                contacts.append(numbers)
            }
            recent[topic] = contacts
        }
        self.recent = recent.isEmpty ? nil : recent
    }

    static let allowed = CharacterSet.alphanumerics.union(.init(charactersIn: "_-."))

    static func escape(_ text: String) -> String {
        let plain = text.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
        return plain ? text : text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func unescape(_ text: String) -> String { text.removingPercentEncoding ?? text }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(compact)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let state = CustomerState(compact: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a customer state")
        }
        self = state
    }
}
