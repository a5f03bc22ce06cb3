import Foundation
public import Models
public import ServiceKit

/// What segmentation remembers of one customer: the inputs of every rule of SPEC §3, and the
/// last published segment (to publish only what changed).
///
/// Kept small on purpose — millions of customers live in memory: fixed-size numbers, event times
/// as milliseconds, product ids as 32-bit hashes, and two short arrays (bills and purchases of
/// the RFM window; complaint times) that stay empty, without an allocation, for customers
/// without purchases or complaints. On the changelog it travels as one base64 string of a
/// little-endian binary layout (``encode(to:)``), not as a JSON object per field.
public struct CustomerProfile: Sendable, Hashable {
    // Declared widest first: Swift lays fields out in declaration order, so this leaves no padding.
    /// The region code of the latest profile that named one ("" for none).
    public var region = ""
    /// When the customer joined (ms), `Int64.min` when unknown.
    public var joinedAt: Int64 = .min
    /// Credit score 0–100 (0 until a profile gives one).
    public var creditScore: Double = 0
    /// Social influence 0–100 (0 until a profile gives one).
    public var influence: Double = 0
    /// Loyalty points.
    public var points: Int64 = 0
    /// Event time (ms) of the latest profile applied: an older profile event is stale.
    public var profileAt: Int64 = .min
    /// Bills and purchases, ascending by time: those of the RFM window, and the last bills ARPU needs.
    public var transactions: [Transaction] = []
    /// FNV-1a hashes of the distinct productIds purchased (at most ``maxProducts``).
    public var products: [UInt32] = []
    /// Event time (ms) of the last contact, bill or purchase (`Int64.min`: none yet).
    public var lastActivityAt: Int64 = .min
    /// Event time (ms) of the latest high / medium churn signal.
    public var lastHighSignalAt: Int64 = .min
    public var lastMediumSignalAt: Int64 = .min
    /// Times (ms) of the latest complaints, ascending, at most `churnRisk.highComplaints` of them.
    public var complaints: [Int64] = []
    /// The customer's event time: the latest event or timer applied (ms).
    public var asOf: Int64 = .min
    /// The offsets of the last `cs.accounts` and `cs.interactions` records applied (-1: none):
    /// a record at or below them is a replay. Two, because offsets of different topics do not compare.
    public var accountsOffset: Int64 = -1
    public var interactionsOffset: Int64 = -1
    /// The last published segment's values.
    public var published = Evaluation()
    /// FNV-1a hash of the current plan's productId, 0 for none.
    public var planHash: UInt32 = 0
    /// Version of the last published segment (0: none yet).
    public var version: UInt32 = 0
    /// True once a `profile` event arrived; no segment is published before.
    public var hasProfile = false
    /// Which signal the latest high / medium one was (index in the rules' list).
    public var lastHighSignal: UInt8 = 0
    public var lastMediumSignal: UInt8 = 0

    /// The most distinct products remembered; the products tag saturates beyond.
    public static let maxProducts = 32
    /// The most bills and purchases remembered; beyond, the oldest outside the bills ARPU needs go.
    public static let maxTransactions = 256

    public init() {}

    /// The segment's values that decide whether a new record is due (what a record says besides
    /// version, asOf, changed and reasons), in compact form.
    public struct Evaluation: Sendable, Hashable {
        /// ARPU in cents, -1 before the first bill.
        public var arpuCents: Int64 = -1
        /// The score in tenths of a point.
        public var scoreTenths: Int32 = 0
        /// RFM scores and segment index + 1, one byte each from the low end (0: no RFM yet).
        public var rfm: UInt32 = 0
        /// FNV-1a hash of the region code the record names (0: none; the code itself is ``CustomerProfile/region``).
        public var regionCode: UInt32 = 0
        public var tier: Rules.Tier = .low
        /// The region class's index among the sorted class names.
        public var regionClass: UInt8 = 0
        public var activity: ActivityState = .active
        public var churnRisk: Rules.Level = .low
        /// Band index + 1 on each tag axis (0: unknown).
        public var tenureBand: UInt8 = 0
        public var spendBand: UInt8 = 0
        public var loyaltyBand: UInt8 = 0
        public var productsBand: UInt8 = 0

        public init() {}
    }

    /// A bill or a purchase.
    public struct Transaction: Sendable, Hashable {
        /// Event time, ms.
        public var at: Int64
        /// Amount in cents.
        public var cents: Int32
        /// Bills: the billing month as `year × 12 + month − 1`; purchases: `-1 − hash / 2` of the productId.
        public var period: Int32

        public init(at: Int64, cents: Int32, period: Int32) {
            self.at = at
            self.cents = cents
            self.period = period
        }

        public var isBill: Bool { period >= 0 }
    }
}

// MARK: - Changelog coding

extension CustomerProfile: Codable {
    static let layoutVersion: UInt8 = 1

    /// Decodes the base64 binary layout written by ``encode(to:)``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "customer state is not base64")
        }
        var reader = ByteReader(bytes: [UInt8](data))
        guard let profile = reader.profile() else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "customer state is truncated")
        }
        self = profile
    }

    /// Encodes the state as one base64 string of a little-endian binary layout (version byte first).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        var bytes: [UInt8] = []
        appendBinary(to: &bytes)
        try container.encode(Data(bytes).base64EncodedString())
    }

    /// The state from the binary layout of ``appendBinary(to:)``, nil for bytes it cannot be.
    public init?(binary bytes: UnsafeRawBufferPointer) {
        var reader = ByteReader(bytes: [UInt8](bytes))
        guard let profile = reader.profile() else { return nil }
        self = profile
    }

    /// Appends the binary layout: little-endian numbers, strings and arrays with their length first.
    public func appendBinary(to out: inout [UInt8]) {
        out.reserveCapacity(
            out.count + 160 + 16 * transactions.count + 4 * products.count + 8 * complaints.count + region.utf8.count
        )
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        func put(_ text: String) {
            put(UInt16(text.utf8.count))
            out.append(contentsOf: text.utf8)
        }
        put(Self.layoutVersion)
        put(UInt8(hasProfile ? 1 : 0))
        put(region)
        put(joinedAt)
        put(creditScore.bitPattern)
        put(influence.bitPattern)
        put(points)
        put(planHash)
        put(profileAt)
        put(UInt32(transactions.count))
        for transaction in transactions {
            put(transaction.at)
            put(transaction.cents)
            put(transaction.period)
        }
        put(UInt32(products.count))
        for product in products { put(product) }
        put(lastActivityAt)
        put(lastHighSignalAt)
        put(lastMediumSignalAt)
        put(lastHighSignal)
        put(lastMediumSignal)
        put(UInt32(complaints.count))
        for complaint in complaints { put(complaint) }
        put(asOf)
        put(version)
        let p = published
        put(p.tier.code)
        put(p.scoreTenths)
        put(p.arpuCents)
        put(p.regionClass)
        put(p.rfm)
        put(p.activity.code)
        put(p.churnRisk.code)
        put(p.tenureBand)
        put(p.spendBand)
        put(p.loyaltyBand)
        put(p.productsBand)
        put(p.regionCode)
        put(accountsOffset)
        put(interactionsOffset)
    }
}

private struct ByteReader {
    let bytes: [UInt8]
    var index = 0
    var failed = false

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        let size = MemoryLayout<T>.size
        guard !failed, index + size <= bytes.count else {
            failed = true
            return 0
        }
        var value: T = 0
        for offset in 0..<size { value |= T(truncatingIfNeeded: bytes[index + offset]) << (8 * offset) }
        index += size
        return value
    }

    mutating func string() -> String {
        let count = Int(read(UInt16.self))
        guard !failed, index + count <= bytes.count else {
            failed = true
            return ""
        }
        defer { index += count }
        return String(decoding: bytes[index..<index + count], as: UTF8.self)
    }

    mutating func count(_ elementSize: Int) -> Int {
        let count = Int(read(UInt32.self))
        if failed || count * elementSize > bytes.count - index {
            failed = true
            return 0
        }
        return count
    }

    mutating func profile() -> CustomerProfile? {
        guard read(UInt8.self) == CustomerProfile.layoutVersion else { return nil }
        var p = CustomerProfile()
        p.hasProfile = read(UInt8.self) != 0
        p.region = string()
        p.joinedAt = read()
        p.creditScore = Double(bitPattern: read())
        p.influence = Double(bitPattern: read())
        p.points = read()
        p.planHash = read()
        p.profileAt = read()
        let transactions = count(16)
        if transactions > 0 {
            p.transactions.reserveCapacity(transactions)
            for _ in 0..<transactions {
                p.transactions.append(.init(at: read(), cents: read(), period: read()))
            }
        }
        let products = count(4)
        for _ in 0..<products { p.products.append(read()) }
        p.lastActivityAt = read()
        p.lastHighSignalAt = read()
        p.lastMediumSignalAt = read()
        p.lastHighSignal = read()
        p.lastMediumSignal = read()
        let complaints = count(8)
        for _ in 0..<complaints { p.complaints.append(read()) }
        p.asOf = read()
        p.version = read()
        p.published.tier = Rules.Tier(code: read())
        p.published.scoreTenths = read()
        p.published.arpuCents = read()
        p.published.regionClass = read()
        p.published.rfm = read()
        p.published.activity = ActivityState(code: read())
        p.published.churnRisk = Rules.Level(code: read())
        p.published.tenureBand = read()
        p.published.spendBand = read()
        p.published.loyaltyBand = read()
        p.published.productsBand = read()
        p.published.regionCode = read()
        p.accountsOffset = read()
        p.interactionsOffset = read()
        return failed ? nil : p
    }
}

extension Rules.Tier {
    var code: UInt8 {
        switch self {
        case .low: 0
        case .mid: 1
        case .high: 2
        }
    }

    init(code: UInt8) { self = code == 2 ? .high : code == 1 ? .mid : .low }
}

extension Rules.Level {
    var code: UInt8 {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        }
    }

    init(code: UInt8) { self = code == 2 ? .high : code == 1 ? .medium : .low }
}

extension ActivityState {
    var code: UInt8 {
        switch self {
        case .active: 0
        case .cooling: 1
        case .inactive: 2
        }
    }

    init(code: UInt8) { self = code == 2 ? .inactive : code == 1 ? .cooling : .active }
}

/// FNV-1a, 32 bits: a stable hash of a product id (the same in every process and release).
func fnv1a(_ text: String) -> UInt32 {
    var hash: UInt32 = 2_166_136_261
    for byte in text.utf8 {
        hash ^= UInt32(byte)
        hash = hash &* 16_777_619
    }
    return hash == 0 ? 1 : hash
}

/// The store's value: the profile behind a reference, so that the store's hash table — sized
/// for a million customers at a load factor of at most 3/4 — holds 8 bytes per slot, not the
/// profile itself.
///
/// - Important: the processor mutates a box in place and then puts it again (which marks it for
///   the changelog); nothing else holds a box.
public final class ProfileBox: Codable, @unchecked Sendable {
    /// The customer's state.
    public var profile: CustomerProfile

    /// Boxes `profile`.
    public init(_ profile: CustomerProfile) { self.profile = profile }

    /// Decodes the profile's Codable form.
    public init(from decoder: any Decoder) throws { profile = try CustomerProfile(from: decoder) }

    /// Encodes the profile's Codable form.
    public func encode(to encoder: any Encoder) throws { try profile.encode(to: encoder) }

    /// The changelog codec: the profile's binary layout.
    public static let codec = StateCodec<ProfileBox>(
        encode: { box, bytes in box.profile.appendBinary(to: &bytes) },
        decode: { bytes in CustomerProfile(binary: bytes).map(ProfileBox.init) }
    )
}
