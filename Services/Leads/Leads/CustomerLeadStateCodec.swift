public import Models
public import ServiceKit

// MARK: - Changelog coding

/// The `cs.leads.customers` changelog value: a little-endian binary layout (version byte first).
/// Foundation's JSON took over half of the service's CPU time per interaction.
///
/// Layout (version 1): flags, credit score, plan, tier/activity/churn risk codes, bills (period and
/// usage sorted by metric, so one state always yields the same bytes), complaint times, the last
/// escalation, declines, leads, the pending retention need, the four input offsets and the
/// propensity counts (sorted by key). Strings and arrays carry their length first (UInt32).
extension CustomerLeadState {
    static let layoutVersion: UInt8 = 1

    /// The changelog codec of ``LeadsProcessor/customers``.
    public static let codec = StateCodec<CustomerLeadState>(
        encode: { state, bytes in state.appendBinary(to: &bytes) },
        decode: { bytes in CustomerLeadState(binary: bytes) }
    )

    /// Appends the binary layout (see the extension's documentation).
    public func appendBinary(to out: inout [UInt8]) {
        var writer = BinaryWriter(out: out)
        out = []
        writer.write(self)
        out = writer.out
    }

    /// The state from the bytes of ``appendBinary(to:)``; nil for bytes that are not such a state
    /// (truncated, trailing bytes, an unknown version or enum code, a string that is not UTF-8).
    public init?(binary bytes: UnsafeRawBufferPointer) {
        var reader = BinaryReader(bytes: bytes)
        guard let state = reader.state(), reader.atEnd else { return nil }
        self = state
    }
}

private struct BinaryWriter {
    var out: [UInt8]

    mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    mutating func put(_ value: Double) { put(value.bitPattern) }

    mutating func put(_ value: Bool) { put(UInt8(value ? 1 : 0)) }

    mutating func put(_ text: String) {
        put(UInt32(text.utf8.count))
        out.append(contentsOf: text.utf8)
    }

    mutating func putCount(_ count: Int) { put(UInt32(count)) }

    /// 0 for nil, 1 + the case's index otherwise.
    mutating func put<E: CaseIterable & Equatable>(code value: E?) where E.AllCases: RandomAccessCollection {
        guard let value, let index = E.allCases.firstIndex(of: value) else { return put(UInt8(0)) }
        put(UInt8(1 + E.allCases.distance(from: E.allCases.startIndex, to: index)))
    }

    mutating func write(_ state: CustomerLeadState) {
        put(CustomerLeadState.layoutVersion)
        put(UInt8(state.consent.map { $0 ? 2 : 1 } ?? 0))
        put(state.optedOut)
        put(state.openComplaint)
        put(state.creditScore != nil)
        if let credit = state.creditScore { put(credit) }
        put(state.planId != nil)
        if let planId = state.planId { put(planId) }
        put(code: state.tier)
        put(code: state.activity)
        put(code: state.churnRisk)
        putCount(state.bills.count)
        for bill in state.bills {
            put(bill.period)
            putCount(bill.usage.count)
            for (metric, value) in bill.usage.sorted(by: { $0.key < $1.key }) {
                put(metric)
                put(value)
            }
        }
        putCount(state.complaints.count)
        for complaint in state.complaints { put(complaint) }
        put(state.lastEscalation != nil)
        if let escalation = state.lastEscalation { put(escalation) }
        putCount(state.declines.count)
        for decline in state.declines {
            put(decline.at)
            put(code: decline.type)
        }
        putCount(state.leads.count)
        for lead in state.leads {
            put(lead.leadId)
            put(code: lead.type)
            put(lead.productId)
            put(code: lead.tier)
            put(lead.createdAt)
            put(lead.expiresAt)
            put(UInt8((lead.reached ? 1 : 0) | (lead.accepted ? 2 : 0) | (lead.closed ? 4 : 0)))
        }
        put(state.pendingRetention != nil)
        if let pending = state.pendingRetention {
            put(pending.triggerEventId)
            put(pending.since)
            put(pending.until)
            put(pending.evidence)
        }
        for slot in 0..<InputOffsets.count { put(state.offsets[slot]) }
        put(state.propensity != nil)
        if let propensity = state.propensity {
            putCount(propensity.count)
            for (key, counts) in propensity.sorted(by: { $0.key < $1.key }) {
                put(key)
                put(Int64(counts.accepted))
                put(Int64(counts.contacted))
            }
        }
    }
}

/// Reads the layout with every length checked against the bytes left: garbage gives nil, never a
/// trap or a huge allocation.
private struct BinaryReader {
    let bytes: UnsafeRawBufferPointer
    var index = 0
    var failed = false

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { !failed && index == bytes.count }

    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        let size = MemoryLayout<T>.size
        guard !failed, bytes.count - index >= size else {
            failed = true
            return 0
        }
        defer { index += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: T.self))
    }

    mutating func double() -> Double { Double(bitPattern: read(UInt64.self)) }

    mutating func bool() -> Bool {
        switch read(UInt8.self) {
        case 0: return false
        case 1: return true
        default:
            failed = true
            return false
        }
    }

    mutating func string() -> String {
        let count = Int(read(UInt32.self))
        guard !failed, bytes.count - index >= count else {
            failed = true
            return ""
        }
        defer { index += count }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[index..<index + count])
        guard let text = String(validating: slice, as: UTF8.self) else {
            failed = true
            return ""
        }
        return text
    }

    /// An element count, refused when even `minimumSize` bytes per element do not fit.
    mutating func count(minimumSize: Int) -> Int {
        let count = Int(read(UInt32.self))
        guard !failed, count <= (bytes.count - index) / minimumSize else {
            failed = true
            return 0
        }
        return count
    }

    mutating func code<E: CaseIterable>(_: E.Type) -> E? where E.AllCases: RandomAccessCollection {
        let code = Int(read(UInt8.self))
        guard code > 0 else { return nil }
        guard code <= E.allCases.count else {
            failed = true
            return nil
        }
        return E.allCases[E.allCases.index(E.allCases.startIndex, offsetBy: code - 1)]
    }

    /// A code that may not be nil.
    mutating func required<E: CaseIterable>(_ type: E.Type) -> E? where E.AllCases: RandomAccessCollection {
        let value = code(type)
        if value == nil { failed = true }
        return value
    }

    mutating func state() -> CustomerLeadState? {
        guard read(UInt8.self) == CustomerLeadState.layoutVersion else { return nil }
        var state = CustomerLeadState()
        switch read(UInt8.self) {
        case 0: state.consent = nil
        case 1: state.consent = false
        case 2: state.consent = true
        default: return nil
        }
        state.optedOut = bool()
        state.openComplaint = bool()
        if bool() { state.creditScore = double() }
        if bool() { state.planId = string() }
        state.tier = code(Rules.Tier.self)
        state.activity = code(ActivityState.self)
        state.churnRisk = code(Rules.Level.self)
        let bills = count(minimumSize: 8)
        for _ in 0..<bills {
            let period = string()
            let metrics = count(minimumSize: 12)
            var usage: [String: Double] = [:]
            usage.reserveCapacity(metrics)
            for _ in 0..<metrics {
                let metric = string()
                usage[metric] = double()
            }
            guard !failed else { return nil }
            state.bills.append(BillUsage(period: period, usage: usage))
        }
        let complaints = count(minimumSize: 8)
        state.complaints.reserveCapacity(complaints)
        for _ in 0..<complaints { state.complaints.append(read()) }
        if bool() { state.lastEscalation = read() }
        let declines = count(minimumSize: 9)
        state.declines.reserveCapacity(declines)
        for _ in 0..<declines {
            let at: Int64 = read()
            state.declines.append(DeclineMark(at: at, type: code(LeadType.self)))
        }
        let leads = count(minimumSize: 27)
        state.leads.reserveCapacity(leads)
        for _ in 0..<leads {
            let leadId = string()
            let type = required(LeadType.self)
            let productId = string()
            let tier = required(Rules.Tier.self)
            let createdAt: Int64 = read()
            let expiresAt: Int64 = read()
            let flags = read(UInt8.self)
            guard !failed, let type, let tier, flags < 8 else { return nil }
            var mark = LeadMark(
                leadId: leadId,
                type: type,
                productId: productId,
                tier: tier,
                createdAt: createdAt,
                expiresAt: expiresAt
            )
            mark.reached = flags & 1 != 0
            mark.accepted = flags & 2 != 0
            mark.closed = flags & 4 != 0
            state.leads.append(mark)
        }
        if bool() {
            let trigger = string()
            let since: Int64 = read()
            let until: Int64 = read()
            state.pendingRetention = PendingRetention(
                triggerEventId: trigger,
                since: since,
                until: until,
                evidence: string()
            )
        }
        for slot in 0..<InputOffsets.count { state.offsets[slot] = read() }
        if bool() {
            let entries = count(minimumSize: 20)
            var propensity: [String: PropensityCounts] = [:]
            propensity.reserveCapacity(entries)
            for _ in 0..<entries {
                let key = string()
                let accepted = read(Int64.self)
                let contacted = read(Int64.self)
                guard let accepted = Int(exactly: accepted), let contacted = Int(exactly: contacted) else { return nil }
                propensity[key] = PropensityCounts(accepted: accepted, contacted: contacted)
            }
            state.propensity = propensity
        }
        return failed ? nil : state
    }
}
