public import Foundation
import Kafka
public import Logging
public import Models
public import ServiceKit
import ServiceLifecycle
import Synchronization

/// The pitch scripts of the catalog: `{{name}}`, `{{saving}}` and `{{productName}}` placeholders.
public enum Scripts {
    /// The placeholders a script may use.
    public static let placeholders: Set<String> = ["name", "saving", "productName"]

    /// What `{{name}}` becomes. No record of the suite carries the customer's name (it would be
    /// PII on a topic marketing reads), so the lead says "customer" and the agent greets the
    /// customer by name from the CRM.
    public static let customerName = "customer"

    /// The script of a product that has none.
    public static func defaultScript(saving: Bool) -> String {
        saving
            ? "Dear {{name}}, {{productName}} fits your usage and saves you {{saving}} a month."
            : "Dear {{name}}, {{productName}} may suit you."
    }

    /// Why a script is malformed, or nil: an unclosed `{{`, a stray `}}`, an empty or unknown placeholder.
    public static func problem(_ script: String) -> String? {
        var rest = Substring(script)
        while let open = rest.range(of: "{{") {
            if rest[..<open.lowerBound].contains("}}") { return "a '}}' without '{{'" }
            let after = rest[open.upperBound...]
            guard let close = after.range(of: "}}") else { return "a '{{' without '}}'" }
            let name = after[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if name.contains("{") { return "nested '{{'" }
            guard placeholders.contains(name) else {
                return "unknown placeholder (allowed: {{name}}, {{saving}}, {{productName}})"
            }
            rest = after[close.upperBound...]
        }
        if rest.contains("}}") { return "a '}}' without '{{'" }
        return nil
    }

    /// Fills the placeholders (spaces inside the braces allowed); `{{saving}}` without a saving is "0.00".
    ///
    /// Scans the UTF-8 bytes for the ASCII braces (always scalar boundaries): Foundation's
    /// `range(of:)` cost more than the rest of making a lead.
    public static func fill(_ script: String, name: String, productName: String, saving: Double?) -> String {
        let text = Array(script.utf8)
        /// The index of the first of two `brace` bytes in a row at or after `start`.
        func pair(_ brace: UInt8, from start: Int) -> Int? {
            var index = start
            while index + 1 < text.count {
                if text[index] == brace && text[index + 1] == brace { return index }
                index += 1
            }
            return nil
        }
        var output: [UInt8] = []
        output.reserveCapacity(text.count + name.utf8.count + productName.utf8.count)
        var rest = 0
        while let open = pair(UInt8(ascii: "{"), from: rest), let close = pair(UInt8(ascii: "}"), from: open + 2) {
            output.append(contentsOf: text[rest..<open])
            let key = String(decoding: text[(open + 2)..<close], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            switch key {
            case "name": output.append(contentsOf: name.utf8)
            case "productName": output.append(contentsOf: productName.utf8)
            case "saving": output.append(contentsOf: LeadEngine.decimal(saving ?? 0, places: 2).utf8)
            default: output.append(contentsOf: text[open..<(close + 2)])
            }
            rest = close + 2
        }
        output.append(contentsOf: text[rest...])
        return String(decoding: output, as: UTF8.self)
    }
}

/// One consistent view of the catalog, indexed for the opportunities.
public struct CatalogSnapshot: Sendable {
    private let byId: [String: Product]
    private let byFamily: [String: [Product]]
    private let byFamilyFee: [String: [Product]]
    /// Every metric named by a plan's allowances or overage prices, in a fixed order.
    private let metrics: [String]
    private let metricIndex: [String: Int]
    /// The plans by (monthlyFee, productId), laid out column by column for pricing many plans
    /// fast (no product is copied while the plans are scanned).
    private let plansByFee: [Product]
    private let fees: [Double]
    private let from: [Int64]
    private let until: [Int64]
    /// Row `i`'s allowance of metric `j` at `i × metrics.count + j` (0 where none).
    private let allowances: [Double]
    /// Row `i`'s overage price of metric `j` at `i × metrics.count + j` (0 where none).
    private let overage: [Double]
    /// Whether row `i` has an overage price for metric `j` (same index as ``overage``).
    private let hasOverage: [Bool]

    public init(_ products: [String: Product]) {
        byId = products
        var families: [String: [Product]] = [:]
        for product in products.values { families[product.family, default: []].append(product) }
        byFamily = families.mapValues { $0.sorted { $0.productId < $1.productId } }
        byFamilyFee = families.mapValues {
            $0.sorted { ($0.monthlyFee, $0.productId) < ($1.monthlyFee, $1.productId) }
        }
        let plans = (families["plan"] ?? []).sorted {
            ($0.monthlyFee, $0.productId) < ($1.monthlyFee, $1.productId)
        }
        var names = Set<String>()
        for plan in plans {
            names.formUnion(plan.allowances.keys)
            names.formUnion(plan.overage.keys)
        }
        let ordered = names.sorted()
        metrics = ordered
        metricIndex = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
        plansByFee = plans
        fees = plans.map(\.monthlyFee)
        from = plans.map { LeadEngine.milliseconds($0.availableFrom) }
        until = plans.map { $0.availableUntil.map(LeadEngine.milliseconds) ?? .max }
        allowances = plans.flatMap { plan in ordered.map { plan.allowances[$0] ?? 0 } }
        overage = plans.flatMap { plan in ordered.map { plan.overage[$0] ?? 0 } }
        hasOverage = plans.flatMap { plan in ordered.map { plan.overage[$0] != nil } }
    }

    /// A product by id (withdrawn products are absent).
    public func product(_ id: String) -> Product? { byId[id] }
    /// Every product of the family `plan`, by productId.
    public var plans: [Product] { (byFamily["plan"] ?? []) }
    /// Every product of a family, by productId.
    public func products(family: String) -> [Product] { byFamily[family] ?? [] }
    /// Every product of a family, by (monthlyFee, productId).
    public func productsByFee(family: String) -> [Product] { byFamilyFee[family] ?? [] }
    /// Number of products.
    public var count: Int { byId.count }

    /// The usage as an array in ``metrics`` order; nil if it uses a metric no plan names
    /// (no plan can serve it then).
    private func vector(_ usage: [String: Double]) -> [Double]? {
        var vector = [Double](repeating: 0, count: metrics.count)
        for (metric, used) in usage {
            guard let index = metricIndex[metric] else {
                if used > 0 { return nil }
                continue
            }
            vector[index] = used
        }
        return vector
    }

    /// Plan `row`'s cost for the usage (fee + Σ excess × overage, in ``metrics`` order); nil when
    /// the usage exceeds an allowance that has no overage price.
    @inline(__always)
    private func cost(_ row: Int, _ usage: UnsafeBufferPointer<Double>) -> Double? {
        var total = fees[row]
        let base = row * usage.count
        for index in 0..<usage.count {
            let excess = usage[index] - allowances[base + index]
            guard excess > 0 else { continue }
            guard hasOverage[base + index] else { return nil }
            total += excess * overage[base + index]
        }
        return total
    }

    /// The available plan (other than `excluding`) with the lowest cost for the usage, ties by
    /// productId; plans are visited by fee and the visit stops once a fee passes the best cost.
    public func cheapestPlan(
        usage: [String: Double],
        at: Int64,
        excluding: String?
    ) -> (product: Product, cost: Double)? {
        guard let usage = vector(usage) else { return nil }
        var best = -1
        var bestCost = 0.0
        usage.withUnsafeBufferPointer { usage in
            for row in 0..<fees.count {
                if best >= 0, fees[row] > bestCost { break }
                guard from[row] <= at, at < until[row], let cost = cost(row, usage) else { continue }
                guard
                    best < 0 || cost < bestCost
                        || (cost == bestCost && plansByFee[row].productId < plansByFee[best].productId)
                else { continue }
                if let excluding, plansByFee[row].productId == excluding { continue }
                best = row
                bestCost = cost
            }
        }
        return best < 0 ? nil : (plansByFee[best], bestCost)
    }

    /// The available plan (other than `excluding`) with the lowest fee whose allowances cover the
    /// usage, ties by productId.
    public func cheapestCovering(usage: [String: Double], at: Int64, excluding: String?) -> Product? {
        guard let usage = vector(usage) else { return nil }
        let metrics = usage.count
        for row in 0..<fees.count where from[row] <= at && at < until[row] {
            let base = row * metrics
            guard usage.indices.allSatisfy({ usage[$0] <= allowances[base + $0] }) else { continue }
            if let excluding, plansByFee[row].productId == excluding { continue }
            return plansByFee[row]
        }
        return nil
    }
}

/// The catalog held whole by every instance (a "global table"): every partition of `cs.catalog`,
/// not the consumer group's share. A product record replaces the product; a tombstone withdraws it.
///
/// - Important: written by the ``CatalogFeed``'s task and read by the processor's: all access
///   goes through a mutex; readers get immutable ``CatalogSnapshot``s.
public final class CatalogTable: Sendable {
    private struct State {
        var products: [String: Product] = [:]
        var snapshot: CatalogSnapshot?
        /// Products added or replaced, in the order they arrived (for pending retention needs).
        var arrivals: [Product] = []
        var restored = false
        var rejected = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Checks a catalog record: the key must be the productId, the product must pass SPEC §2's
    /// rules (no negative fee, allowance or overage; availableUntil after availableFrom) and its
    /// script must be well formed. Returns the product, or the problem (no product built on it).
    public static func validate(
        key: String?,
        value: UnsafeRawBufferPointer,
        decoder: JSONDecoder
    ) -> Result<
        Product, ProcessingFailure
    > {
        let product: Product
        do {
            product = try decoder.decode(Product.self, from: Data(value))
        } catch {
            return .failure(ProcessingFailure(reason: "invalid_product", message: "not a product record: \(error)"))
        }
        let errors = product.validationErrors(now: Date())
        if !errors.isEmpty {
            return .failure(
                ProcessingFailure(
                    reason: "invalid_product",
                    message: "product breaks SPEC §2: " + errors.map { "\($0)" }.joined(separator: "; ")
                )
            )
        }
        let numbers = [product.monthlyFee] + Array(product.allowances.values) + Array(product.overage.values)
        if numbers.contains(where: { !$0.isFinite }) {
            return .failure(ProcessingFailure(reason: "invalid_product", message: "a price or allowance is not finite"))
        }
        if let script = product.script, let problem = Scripts.problem(script) {
            return .failure(ProcessingFailure(reason: "invalid_product", message: "malformed script: \(problem)"))
        }
        if let key, key != product.productId {
            return .failure(ProcessingFailure(reason: "key_mismatch", message: "the record key is not the productId"))
        }
        return .success(product)
    }

    /// Adds or replaces a product.
    public func apply(_ product: Product) {
        state.withLock {
            $0.products[product.productId] = product
            $0.arrivals.append(product)
            $0.snapshot = nil
        }
    }

    /// Withdraws a product (a tombstone).
    public func withdraw(_ productId: String) {
        state.withLock {
            if $0.products.removeValue(forKey: productId) != nil { $0.snapshot = nil }
        }
    }

    /// Counts a rejected catalog record.
    public func reject() { state.withLock { $0.rejected += 1 } }

    /// The current catalog (rebuilt after a change, shared until the next one).
    public func snapshot() -> CatalogSnapshot {
        state.withLock {
            if let snapshot = $0.snapshot { return snapshot }
            let snapshot = CatalogSnapshot($0.products)
            $0.snapshot = snapshot
            return snapshot
        }
    }

    /// Products that arrived since the caller last looked (then forgotten: one reader, the processor).
    public func takeArrivals() -> [Product] {
        state.withLock {
            let arrivals = $0.arrivals
            $0.arrivals.removeAll()
            return arrivals
        }
    }

    /// True once every catalog partition was read up to its end as of the start.
    public var isRestored: Bool { state.withLock { $0.restored } }
    /// Marks the table restored.
    public func markRestored() { state.withLock { $0.restored = true } }
    /// Products held.
    public var count: Int { state.withLock { $0.products.count } }
    /// Catalog records rejected (invalid products).
    public var rejected: Int { state.withLock { $0.rejected } }

    /// Waits (blocking the calling thread, polling every 10 ms) until restored or the deadline passes.
    public func waitRestored(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isRestored {
            if ContinuousClock.now >= deadline { return false }
            usleep(10_000)
        }
        return true
    }
}

/// Feeds a ``CatalogTable`` from every partition of `cs.catalog`, from the beginning, with its own
/// group-less consumer (manual assignment, no commits), and keeps it up to date. The table is
/// marked restored once each partition was read up to the high watermark seen at the start.
///
/// It runs in the service group as an HTTP endpoint, `GET /catalog`: `{"products":N,"restored":B,"rejected":R}`.
public final class CatalogFeed: HTTPEndpoint, @unchecked Sendable {
    public let table: CatalogTable
    public let topic: String
    private let configuration: KafkaConfiguration
    private let logger: Logger
    public var path: String { "/catalog" }
    public var method: String { "GET" }
    public var maxBodyBytes: Int { 0 }

    /// - Parameters:
    ///   - configuration: the service's configuration (brokers, `KAFKA_*` properties, prefix).
    public init(configuration: ServiceConfiguration, table: CatalogTable, logger: Logger) {
        self.table = table
        self.topic = configuration.topic(Topics.catalog)
        var kafka = configuration.producerConfiguration
        kafka["group.id"] = "tandem-leads-catalog-unassigned"
        kafka["enable.partition.eof"] = "false"
        self.configuration = kafka
        self.logger = logger
    }

    /// Assigns every catalog partition from the beginning; the high watermarks to reach.
    private func start() async throws -> (KafkaConsumer, [Int32: Int64]) {
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        let description = try await admin.describeTopics([topic]).first
        let partitions = description?.partitions.map(\.id) ?? []
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        var targets: [Int32: Int64] = [:]
        for partition in partitions {
            let (_, high) = try await consumer.queryWatermarks(topic: topic, partition: partition)
            if high > 0 { targets[partition] = high }
        }
        try consumer.assign(partitions.map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) })
        return (consumer, targets)
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let body = "{\"products\":\(table.count),\"restored\":\(table.isRestored),\"rejected\":\(table.rejected)}\n"
        return HTTPResponse(status: 200, contentType: "application/json", body: Array(body.utf8))
    }

    public func run() async throws {
        // The catalog may not be reachable yet (broker starting, topic being created): retried.
        var consumer: KafkaConsumer?
        var targets: [Int32: Int64] = [:]
        while consumer == nil {
            do {
                (consumer, targets) = try await start()
            } catch {
                logger.warning("catalog feed cannot start yet", metadata: ["error": "\(error)"])
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        guard let consumer else { return }
        if targets.isEmpty { table.markRestored() }
        let decoder = TandemJSON.decoder()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                for await event in consumer.events {
                    guard case .records(let batch) = event else { continue }
                    for record in batch {
                        let key = record.withUnsafeKey { $0.map { String(decoding: $0, as: UTF8.self) } }
                        record.withUnsafeValue { value in
                            guard let value else {
                                if let key { table.withdraw(key) }
                                return
                            }
                            switch CatalogTable.validate(key: key, value: value, decoder: decoder) {
                            case .success(let product): table.apply(product)
                            case .failure(let failure):
                                table.reject()
                                logger.warning(
                                    "catalog record rejected",
                                    metadata: [
                                        "kafka.partition": "\(record.partition)", "kafka.offset": "\(record.offset)",
                                        "reason": "\(failure.reason)", "problem": "\(failure.message)",
                                    ]
                                )
                            }
                        }
                        if let target = targets[record.partition], record.offset + 1 >= target {
                            targets[record.partition] = nil
                            if targets.isEmpty { table.markRestored() }
                        }
                    }
                }
            } onCancel: {
                consumer.stopEvents()
            }
        } onGracefulShutdown: {
            consumer.stopEvents()
        }
        await consumer.close()
    }
}
