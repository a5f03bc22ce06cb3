import Foundation
public import Logging
import Metrics
public import Models
public import ServiceKit

/// `tandem-leads`: leads born in service moments, guarded by a contact policy (SPEC §4).
///
/// Inputs (all keyed by customerId, co-partitioned): `cs.interactions`, `cs.accounts`,
/// `cs.segments`, `cs.lead-outcomes`. The catalog is not read through the group: a
/// ``CatalogTable`` fed by a ``CatalogFeed`` holds every partition of `cs.catalog`.
/// Outputs: `cs.leads` and `cs.lead-suppressions` (one per trigger the contact policy stopped).
///
/// For each record:
/// 1. **decode**: bytes that are not the record are `invalid_json`; a record that breaks SPEC §2
///    is `invalid`; a key that is not the customerId is `key_mismatch`; a bill without usage is
///    `no_usage`; an outcome for a lead this customer never got is `unknown_lead`. An interaction
///    about no customer (an opinion post) is ignored (counted).
/// 2. **replay**: the customer's state keeps the last applied offset of each input topic; a
///    record at or below it is skipped (counted in ``replayed``).
/// 3. **apply** it (``LeadEngine``): state first, then opportunities, then the contact policy;
///    leads and suppressions are published, a lead whose id the state already holds is not
///    (``Decision/alreadyMade``).
///
/// Pending retention needs are looked at on every event of the customer and, on ``tick(wallNow:into:)``,
/// against the catalog products that arrived since the last tick.
///
/// - Important: used only from its ``ProcessingLoop``'s task, one call at a time (hence
///   `@unchecked Sendable`). Run it with ONE processor (the catalog table is shared).
public final class LeadsProcessor: RecordProcessor, @unchecked Sendable {
    public let inputTopics: [String]
    public let interactionsTopic: String
    public let accountsTopic: String
    public let segmentsTopic: String
    public let outcomesTopic: String
    /// `cs.leads` with the prefix.
    public let leadsTopic: String
    /// `cs.lead-suppressions` with the prefix.
    public let suppressionsTopic: String
    /// Per-customer state, by customer id (changelog `cs.leads.customers`).
    public let customers: KeyedStateStore<CustomerLeadState>
    /// The key of each partition's propensity entry in ``customers`` (outcome counts per
    /// `type/tier` on that partition): a control character no customer id holds, so the counts
    /// share the customers' changelog and need no topic of their own.
    public static let propensityKey = "\u{1F}propensity"
    public var stores: [any StateStore] { [customers] }
    public var ownOutputTopics: [String] { [leadsTopic, suppressionsTopic] }
    /// The catalog, held whole.
    public let catalog: CatalogTable
    public let engine: LeadEngine
    let rules: Rules
    let logger: Logger

    /// Leads published.
    public private(set) var leadsMade = 0
    /// Suppressions published, by reason.
    public private(set) var suppressions: [SuppressionReason: Int] = [:]
    /// Inputs skipped as replays.
    public private(set) var replayed = 0
    /// Leads and suppressions not sent again (already in the state or on the output tail).
    public private(set) var alreadyPublished = 0
    /// Interactions about no customer.
    public private(set) var ignored = 0

    private var owned = Set<Int32>()
    /// Customers with a pending retention need, per partition.
    private var pending: [Int32: Set<String>] = [:]
    /// Suppression ids found on the output tail during a restore, per partition.
    private var tailSuppressions: [Int32: Set<String>] = [:]
    private let decoder = TandemJSON.decoder()
    private let fastDecoder = FastJSONDecoder()
    private let accountDecoder = FastAccountEventDecoder()
    private let segmentReader = FastSegmentEssentialsReader()
    private let leadsMetric: [LeadType: Counter]
    private let suppressionMetric: [SuppressionReason: Counter]
    private let replayedMetric = Counter(label: "tandem_replayed_total", dimensions: [("service", "leads")])

    public init(
        configuration: ServiceConfiguration,
        rules: Rules,
        catalog: CatalogTable = CatalogTable(),
        logger: Logger = Logger(label: "tandem.leads")
    ) {
        interactionsTopic = configuration.topic(Topics.interactions)
        accountsTopic = configuration.topic(Topics.accounts)
        segmentsTopic = configuration.topic(Topics.segments)
        outcomesTopic = configuration.topic(Topics.leadOutcomes)
        inputTopics = Topics.inputs["leads"]!.map(configuration.topic)
        leadsTopic = configuration.topic(Topics.leads)
        suppressionsTopic = configuration.topic(Topics.leadSuppressions)
        customers = KeyedStateStore(
            name: "customers",
            changelogTopic: configuration.topic(Topics.changelog(service: "leads", store: "customers")),
            codec: CustomerLeadState.codec
        )
        self.catalog = catalog
        self.rules = rules
        self.logger = logger
        engine = LeadEngine(rules: rules.leads)
        leadsMetric = Dictionary(
            uniqueKeysWithValues: LeadType.allCases.map {
                ($0, Counter(label: "tandem_leads_total", dimensions: [("type", $0.rawValue)]))
            }
        )
        suppressionMetric = Dictionary(
            uniqueKeysWithValues: SuppressionReason.allCases.map {
                ($0, Counter(label: "tandem_lead_suppressions_total", dimensions: [("reason", $0.rawValue)]))
            }
        )
    }

    public func process(_ record: InputRecord, into output: inout ProcessorOutput) throws(ProcessingFailure) {
        guard let value = record.value else {
            throw ProcessingFailure(reason: "invalid_json", message: "the record has no value")
        }
        let partition = record.partition
        let snapshot = catalog.snapshot()
        let counts = countsLookup(partition: partition)
        switch record.topic {
        case interactionsTopic:
            let interaction = try decodeInteraction(value)
            guard let customerId = interaction.customerId, !customerId.isEmpty else {
                ignored += 1
                return
            }
            try Self.checkKey(record, customerId)
            let stored = customers.get(customerId, partition: partition)
            var state = stored ?? CustomerLeadState()
            guard !isReplay(&state, slot: 0, record) else { return }
            let decisions = engine.handle(
                interaction: interaction,
                customerId: customerId,
                state: &state,
                catalog: snapshot,
                counts: counts
            )
            finish(customerId, stored, state, decisions, record: record, into: &output)
        case accountsTopic:
            let event: AccountEvent = try decode(value, fast: accountDecoder.read(value))
            try Self.checkKey(record, event.customerId)
            let stored = customers.get(event.customerId, partition: partition)
            var state = stored ?? CustomerLeadState()
            guard !isReplay(&state, slot: 1, record) else { return }
            let decisions = try engine.handle(account: event, state: &state, catalog: snapshot, counts: counts)
            finish(event.customerId, stored, state, decisions, record: record, into: &output)
        case segmentsTopic:
            let segment: CustomerSegment.Essentials = try decode(
                value,
                fast: segmentReader.read(value),
                as: "CustomerSegment"
            )
            try Self.checkKey(record, segment.customerId)
            let stored = customers.get(segment.customerId, partition: partition)
            var state = stored ?? CustomerLeadState()
            guard !isReplay(&state, slot: 2, record) else { return }
            let decisions = engine.handle(segment: segment, state: &state, catalog: snapshot, counts: counts)
            finish(segment.customerId, stored, state, decisions, record: record, into: &output)
        case outcomesTopic:
            let outcome: LeadOutcome = try decode(value)
            try Self.checkKey(record, outcome.customerId)
            let stored = customers.get(outcome.customerId, partition: partition)
            var state = stored ?? CustomerLeadState()
            guard !isReplay(&state, slot: 3, record) else { return }
            let effect = try engine.handle(outcome: outcome, state: &state)
            var entry = customers.get(Self.propensityKey, partition: partition) ?? CustomerLeadState()
            // Its own offset: the counts and the customer may reach the changelog in different batches.
            if effect.accepted + effect.contacted > 0, record.offset > entry.offsets[3] {
                let key = Self.countsKey(effect.type, effect.tier)
                var value = entry.propensity?[key] ?? PropensityCounts()
                value.accepted += effect.accepted
                value.contacted += effect.contacted
                entry.propensity = (entry.propensity ?? [:]).merging([key: value]) { _, new in new }
                entry.offsets[3] = record.offset
                customers.put(Self.propensityKey, entry, partition: partition, offset: record.offset)
            }
            finish(outcome.customerId, stored, state, [], record: record, into: &output)
        default:
            throw ProcessingFailure(reason: "unknown_topic", message: "the leads service does not read this topic")
        }
    }

    public func tick(wallNow: Int64, into output: inout ProcessorOutput) {
        var arrivals = catalog.takeArrivals().filter { $0.family == "plan" }
        if recheckAll {
            arrivals = catalog.snapshot().plans
            recheckAll = false
        }
        guard !arrivals.isEmpty else { return }
        for partition in owned.sorted() {
            for customerId in (pending[partition] ?? []).sorted() {
                satisfyPending(customerId, partition: partition, candidates: arrivals, into: &output)
            }
        }
    }

    public func partitionsAssigned(_ partitions: [Int32]) {
        if !catalog.isRestored, !catalog.waitRestored(timeout: .seconds(60)) {
            logger.warning("catalog not restored after 60 s: processing goes on with the catalog read so far")
        }
        for partition in partitions {
            owned.insert(partition)
            var waiting = Set<String>()
            for (customerId, state) in customers.entries(partition: partition) where state.pendingRetention != nil {
                waiting.insert(customerId)
            }
            pending[partition] = waiting
        }
        // Products that arrived while these partitions were elsewhere: the next tick looks at all.
        recheckAll = true
    }

    /// The next tick compares every pending need with the whole catalog (after an assignment).
    private var recheckAll = false

    public func partitionsRevoked(_ partitions: [Int32]) {
        for partition in partitions {
            owned.remove(partition)
            pending[partition] = nil
            tailSuppressions[partition] = nil
        }
    }

    /// Leads and suppressions acknowledged just before a crash whose state change had not reached
    /// the changelog: their ids are recorded so the replayed triggers publish nothing twice.
    public func restoreOutputTail(_ record: InputRecord) {
        guard let value = record.value else { return }
        let data = Data(value)
        if record.topic == leadsTopic {
            guard let lead = try? decoder.decode(Lead.self, from: data) else { return }
            var state = customers.get(lead.customerId, partition: record.partition) ?? CustomerLeadState()
            guard !state.leads.contains(where: { $0.leadId == lead.leadId }) else { return }
            state.leads.append(
                LeadMark(
                    leadId: lead.leadId,
                    type: lead.type,
                    productId: lead.productId,
                    tier: Rules.Tier(rawValue: lead.tier) ?? .low,
                    createdAt: LeadEngine.milliseconds(lead.createdAt),
                    expiresAt: LeadEngine.milliseconds(lead.followUp.expiresAt)
                )
            )
            if lead.type == .retention, state.pendingRetention?.triggerEventId == lead.triggerEventId {
                state.pendingRetention = nil
            }
            let offset = customers.offset(of: lead.customerId, partition: record.partition) ?? -1
            customers.put(lead.customerId, state, partition: record.partition, offset: offset)
        } else if record.topic == suppressionsTopic {
            guard let suppression = try? decoder.decode(LeadSuppression.self, from: data) else { return }
            tailSuppressions[record.partition, default: []].insert(suppression.suppressionId)
        }
    }

    // MARK: Internals

    private func satisfyPending(
        _ customerId: String,
        partition: Int32,
        candidates: [Product],
        into output: inout ProcessorOutput
    ) {
        guard var state = customers.get(customerId, partition: partition), let need = state.pendingRetention else {
            pending[partition]?.remove(customerId)
            return
        }
        // The cheapest candidate that fits.
        var best: Product?
        for product in candidates where engine.pendingFit(need, state: state, product: product) != nil {
            if best == nil || product.monthlyFee < best!.monthlyFee { best = product }
        }
        guard let best else { return }
        let decision = engine.satisfyPending(
            with: best,
            customerId: customerId,
            state: &state,
            counts: countsLookup(partition: partition)
        )
        if let decision { publish(decision, customerId: customerId, partition: partition, into: &output) }
        pending[partition]?.remove(customerId)
        let offset = customers.offset(of: customerId, partition: partition) ?? -1
        customers.put(customerId, state, partition: partition, offset: offset)
    }

    private func finish(
        _ customerId: String,
        _ stored: CustomerLeadState?,
        _ updated: CustomerLeadState,
        _ decisions: [Decision],
        record: InputRecord,
        into output: inout ProcessorOutput
    ) {
        var state = updated
        let partition = record.partition
        for decision in decisions { publish(decision, customerId: customerId, partition: partition, into: &output) }
        // A record that changed nothing and published nothing is not written: replayed, it would
        // again change and publish nothing (the changelog grows with changes, not with events).
        guard !decisions.isEmpty || state != stored else { return }
        state.offsets[Self.slot(record.topic, self)] = record.offset
        if state.pendingRetention != nil {
            pending[partition, default: []].insert(customerId)
        } else {
            pending[partition]?.remove(customerId)
        }
        customers.put(customerId, state, partition: partition, offset: record.offset)
    }

    private func publish(_ decision: Decision, customerId: String, partition: Int32, into output: inout ProcessorOutput)
    {
        switch decision {
        case .lead(let lead):
            guard let bytes = try? FastJSON.encode(lead) else { return }
            output.send(topic: leadsTopic, key: Array(customerId.utf8), value: bytes)
            leadsMade += 1
            leadsMetric[lead.type]?.increment()
        case .suppressed(let suppression):
            if logger.logLevel <= .debug {
                logger.debug(
                    "trigger suppressed",
                    metadata: [
                        "rule": "\(suppression.reason.rawValue)", "lead.type": "\(suppression.type.rawValue)",
                        "trigger.eventId": "\(suppression.triggerEventId)",
                    ]
                )
            }
            if tailSuppressions[partition]?.remove(suppression.suppressionId) != nil {
                alreadyPublished += 1
                return
            }
            guard let bytes = try? FastJSON.encode(suppression) else { return }
            output.send(topic: suppressionsTopic, key: Array(customerId.utf8), value: bytes)
            suppressions[suppression.reason, default: 0] += 1
            suppressionMetric[suppression.reason]?.increment()
        case .alreadyMade:
            alreadyPublished += 1
        }
    }

    private func isReplay(_ state: inout CustomerLeadState, slot: Int, _ record: InputRecord) -> Bool {
        if record.offset <= state.offsets[slot] {
            replayed += 1
            replayedMetric.increment()
            return true
        }
        return false
    }

    private static func slot(_ topic: String, _ processor: LeadsProcessor) -> Int {
        switch topic {
        case processor.interactionsTopic: 0
        case processor.accountsTopic: 1
        case processor.segmentsTopic: 2
        default: 3
        }
    }

    /// `cs.interactions` through the simdjson path (intake wrote it normalised); the SPEC §2 fields
    /// the leads need are checked.
    private func decodeInteraction(_ value: UnsafeRawBufferPointer) throws(ProcessingFailure) -> Interaction {
        let raw: RawInteraction
        do {
            raw = try fastDecoder.decodeRawInteraction(value)
        } catch {
            throw Self.decodingFailure(error)
        }
        guard let eventId = raw.eventId, !eventId.isEmpty, let occurredAt = raw.occurredAt,
            let channel = raw.normalizedChannel, let kind = raw.interactionKind
        else {
            throw ProcessingFailure(reason: "invalid", message: "eventId, occurredAt, channel and kind are required")
        }
        if let sentiment = raw.sentiment, !(-1...1).contains(sentiment) {
            throw ProcessingFailure(reason: "invalid", message: "sentiment: must be between -1 and 1")
        }
        if let csat = raw.csat, !(1...5).contains(csat) {
            throw ProcessingFailure(reason: "invalid", message: "csat: must be between 1 and 5")
        }
        return Interaction(
            eventId: eventId,
            occurredAt: occurredAt,
            receivedAt: occurredAt,
            channel: channel,
            kind: kind,
            customerId: raw.customerId,
            topic: raw.topic,
            answered: raw.answered,
            resolved: raw.resolved,
            csat: raw.csat,
            sentiment: raw.sentiment,
            signals: raw.signals
        )
    }

    /// `fast` when the simdjson path answered (it then equals Foundation's answer), else Foundation's
    /// verdict; then SPEC §2's checks.
    private func decode<Record: Decodable & Validatable>(
        _ value: UnsafeRawBufferPointer,
        fast: Record? = nil,
        as name: String = "\(Record.self)"
    ) throws(ProcessingFailure) -> Record {
        let record: Record
        do {
            record = try fast ?? decoder.decode(Record.self, from: Data(value))
        } catch {
            throw ProcessingFailure(
                reason: "invalid_json",
                message: "not a \(name) record: \(Self.describe(error))"
            )
        }
        let errors = record.validationErrors(now: Date.distantFuture)
        if !errors.isEmpty {
            throw ProcessingFailure(
                reason: "invalid",
                message: "\(name) breaks SPEC §2: " + errors.map { "\($0)" }.joined(separator: "; ")
            )
        }
        return record
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            "bad field \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "not JSON"
        }
    }

    /// The partition's counts, looked up when a decision needs them (most records make none).
    private func countsLookup(partition: Int32) -> CountsLookup {
        { [customers] type, tier in
            customers.get(Self.propensityKey, partition: partition)?.propensity?[Self.countsKey(type, tier)]
                ?? PropensityCounts()
        }
    }

    static func decodingFailure(_ error: ModelError) -> ProcessingFailure {
        guard case .decoding(let field, let message) = error else {
            return ProcessingFailure(reason: "invalid_json", message: "the payload cannot be read")
        }
        if field.isEmpty {
            return ProcessingFailure(
                reason: message.hasPrefix("payload is not valid") ? "invalid_json" : "invalid_field",
                message: message
            )
        }
        return ProcessingFailure(reason: "invalid_field", message: "\(field): \(message)")
    }

    static func countsKey(_ type: LeadType, _ tier: Rules.Tier) -> String { "\(type.rawValue)/\(tier.rawValue)" }

    static func checkKey(_ record: InputRecord, _ customerId: String) throws(ProcessingFailure) {
        if customerId == propensityKey {
            throw ProcessingFailure(reason: "invalid", message: "customerId: a reserved value")
        }
        guard let key = record.key else { return }
        let matches = customerId.utf8.elementsEqual(UnsafeRawBufferPointer(key))
        if !matches {
            throw ProcessingFailure(reason: "key_mismatch", message: "the record key is not the record's customerId")
        }
    }
}
