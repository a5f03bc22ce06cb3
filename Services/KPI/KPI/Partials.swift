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
public struct CustomerState: Codable, Sendable, Hashable {
    /// `high`, `mid` or `low`.
    public var tier: String?
    /// Topic → [[event time, offset in cs.interactions]] of recent customer-initiated contacts.
    public var recent: [String: [[Int64]]]?
}
