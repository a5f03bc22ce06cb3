import Foundation

extension FastJSON {
    /// The JSON keys of ``KPICounts`` (every counter and `suppressedByReason`) in the order
    /// Foundation's sorted-keys encoder writes them (by UTF-8 bytes), as field positions
    /// (`nil`: `suppressedByReason`).
    static let sortedCountKeys: [(name: [UInt8], field: KPICounters.Field?)] = {
        var keys: [(name: [UInt8], field: KPICounters.Field?)] = KPICounters.Field.allCases.map {
            (Array($0.name.utf8), $0)
        }
        keys.append((Array("suppressedByReason".utf8), nil))
        return keys.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }()

    /// Appends a ``KPISnapshot`` as JSON to `buffer`: the bytes ``TandemJSON/encode(_:)`` returns
    /// (the merger publishes a snapshot per window × dimension value per batch).
    ///
    /// A snapshot the writer cannot write exactly like the reference (a non-finite number, a date
    /// outside years 0001–9999) is left to ``TandemJSON/encode(_:)``, which throws its error.
    public static func encode(_ snapshot: KPISnapshot, into buffer: inout [UInt8]) throws(ModelError) {
        let rates = snapshot.kpis
        let doubles: [Double?] = [
            rates.abandonRate, rates.ahtSeconds, rates.answerRate, rates.asaSeconds, rates.cesLowEffortShare,
            rates.cesMean, rates.complaintRate, rates.conversion, rates.csatMean, rates.csatTop2Box, rates.fcr,
            rates.nps, rates.observedFcr, rates.optOutRate, rates.repeatContactRate, rates.sentimentMean,
            rates.serviceLevel,
        ]
        let definitions = snapshot.definitions
        guard let start = FastJSONWriter.millis(snapshot.start), let end = FastJSONWriter.millis(snapshot.end),
            doubles.allSatisfy({ $0?.isFinite ?? true }), definitions.shortAbandonSeconds.isFinite,
            definitions.serviceLevelSeconds.isFinite
        else {
            buffer.append(contentsOf: try TandemJSON.encode(snapshot))
            return
        }
        let suppressed = snapshot.counts.counters.tallies(prefix: KPICounts.suppressionPrefix)
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        var bound = Bound()
        bound.add(snapshot.value, definitions.timeZone)
        for (reason, _) in suppressed { bound.add(reason) }
        FastJSONWriter.write(into: &buffer, bound: 4096 + bound.bytes) { writer in
            writer.beginObject()
            writer.key("counts")
            writer.beginObject()
            let counters = snapshot.counts.counters
            for (name, field) in sortedCountKeys {
                writer.key(bytes: name)
                if let field {
                    writer.integer(counters[field])
                } else {
                    writer.beginObject()
                    for (reason, count) in suppressed {
                        writer.key(string: reason)
                        writer.integer(count)
                    }
                    writer.endObject()
                }
            }
            writer.endObject()
            writer.key("definitions")
            writer.beginObject()
            writer.field("graceSeconds", Int64(definitions.graceSeconds))
            writer.field("repeatContactDays", Int64(definitions.repeatContactDays))
            writer.field("serviceLevelSeconds", definitions.serviceLevelSeconds)
            writer.field("shortAbandonSeconds", definitions.shortAbandonSeconds)
            writer.field("timeZone", definitions.timeZone)
            writer.field("topTopics", Int64(definitions.topTopics))
            writer.endObject()
            writer.field("dimension", snapshot.dimension.rawValue)
            writer.field("end", millis: end)
            writer.field("final", snapshot.final)
            writer.key("kpis")
            writer.beginObject()
            let names: [StaticString] = [
                "abandonRate", "ahtSeconds", "answerRate", "asaSeconds", "cesLowEffortShare", "cesMean",
                "complaintRate", "conversion", "csatMean", "csatTop2Box", "fcr", "nps", "observedFcr", "optOutRate",
                "repeatContactRate", "sentimentMean", "serviceLevel",
            ]
            for (name, value) in zip(names, doubles) { writer.nullableField(name, value) }
            writer.endObject()
            writer.field("start", millis: start)
            writer.field("value", snapshot.value)
            writer.field("window", snapshot.window.rawValue)
            writer.endObject()
        }
    }

    /// Encodes a ``KPISnapshot`` into a new array (see ``encode(_:into:)-(KPISnapshot,_)``).
    public static func encode(_ snapshot: KPISnapshot) throws(ModelError) -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(snapshot, into: &bytes)
        return bytes
    }
}
