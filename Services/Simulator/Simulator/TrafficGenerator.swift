public import Foundation
public import Models

/// One record of the simulated stream: where it goes, its key, its bytes and its event time.
public struct SimulatedRecord: Sendable, Hashable {
    /// The topic (without the deployment's prefix).
    public var topic: TopicSpec
    /// The record key: productId, customerId, or the eventId of an anonymous post.
    public var key: String
    /// The value as it goes on the wire (TandemJSON / FastJSON bytes).
    public var value: [UInt8]
    /// When the event happened (also the Kafka timestamp the simulator sets).
    public var eventTime: Date
    /// True for the catalog and the customers' history (profiles, past bills and purchases),
    /// which come before the live traffic and are not paced.
    public var isHistory: Bool
    /// True for the deliberately invalid raw interactions intake must dead-letter.
    public var isDeliberatelyInvalid: Bool
}

/// A deterministic stream of realistic traffic for the suite's input topics (SPEC §2).
///
/// First the history, unpaced: the catalog on `cs.catalog`, a profile per customer and
/// `historyMonths` months of bills (with some purchases) on `cs.accounts`, in event-time order.
/// Then the live traffic, one record per `1 / rate` seconds of event time from `start`: contacts
/// over every channel (and its aliases) with waits, abandons, handle times, transfers,
/// resolutions and sentiment; surveys, follow-ups and repeat contacts scheduled after them;
/// complaints, churn and marketing signals; escalations to the 12315/12345 hotlines and regulators;
/// public posts about us and competitors, some about a campaign; purchases, profile changes and a
/// new bill per customer each month on its billing day.
///
/// The same `seed`, `start`, customer count, rate, invalid share and history length give the
/// same records, byte for byte. Event ids are `sim-<seed>-<start>-<n>`, unique per seed and start.
///
/// - Important: not thread-safe; one generator per task.
public struct TrafficGenerator: Sendable {
    /// The seed every draw derives from.
    public let seed: UInt64
    /// The event time of the first live record.
    public let start: Date
    /// Live records per second of event time.
    public let rate: Double
    /// The share of live raw interactions deliberately made invalid (0–1).
    public let invalidShare: Double
    /// Months of bills before `start`.
    public let historyMonths: Int
    /// The catalog, as it is published first.
    public let catalog: [Product]
    /// How many records `next()` returned so far.
    public private(set) var emitted = 0

    private var random: SimulationRandom
    private var customers: [Customer] = []
    private var phase: Phase = .catalog(0)
    private var pending: [SimulatedRecord] = []
    private var pendingIndex = 0
    private var scheduled = ScheduleHeap()
    private var liveIndex = 0
    private var sequence = 0
    private var aggrieved: [Int] = []
    private let idPrefix: String
    /// year × 12 + month − 1 of the start, in Shanghai.
    private let startMonthIndex: Int
    private let planIndexes: [Int]
    private let extraIndexes: [Int]

    private enum Phase: Sendable {
        case catalog(Int)
        case profiles(Int)
        case history(monthOffset: Int)
        case live
    }

    /// Makes a generator.
    ///
    /// - Parameters:
    ///   - seed: fixes every draw.
    ///   - start: the event time of the first live record (history lies before it).
    ///   - customers: how many customers (≥ 1).
    ///   - rate: live records per second of event time (> 0).
    ///   - invalidShare: the share of live raw interactions made invalid on purpose, 0–1.
    ///   - historyMonths: months of bills before `start`, 0–24.
    public init(
        seed: UInt64,
        start: Date,
        customers: Int,
        rate: Double = 100,
        invalidShare: Double = 0.005,
        historyMonths: Int = 6
    ) {
        self.seed = seed
        // Whole milliseconds, as the wire keeps times: a decoded record equals the generated one.
        self.start = Date(timeIntervalSince1970: (start.timeIntervalSince1970 * 1000).rounded() / 1000)
        self.rate = rate > 0 ? rate : 100
        self.invalidShare = clamped(invalidShare, 0...1)
        self.historyMonths = clamped(historyMonths, 0...24)
        let catalog = SimulatedCatalog.products(start: self.start)
        self.catalog = catalog
        self.random = SimulationRandom(seed: seed)
        let startCivil = ShanghaiTime.civil(self.start)
        self.startMonthIndex = startCivil.year * 12 + startCivil.month - 1
        self.idPrefix =
            "sim-\(String(seed, radix: 16))-\(String(Int64((self.start.timeIntervalSince1970 * 1000).rounded()), radix: 36))-"
        let start = self.start
        self.planIndexes = catalog.indices.filter { catalog[$0].family == "plan" && catalog[$0].isAvailable(at: start) }
        self.extraIndexes = catalog.indices.filter { catalog[$0].family != "plan" }
        let count = max(1, customers)
        self.customers.reserveCapacity(count)
        for index in 0..<count { self.customers.append(makeCustomer(index)) }
    }

    /// The event time of the next live record.
    public var clock: Date {
        Date(timeIntervalSince1970: ((start.timeIntervalSince1970 + Double(liveIndex) / rate) * 1000).rounded() / 1000)
    }

    /// Whether the history (catalog, profiles, past bills) has all been returned.
    public var historyDone: Bool {
        if case .live = phase { return pendingIndex >= pending.count }
        return false
    }

    /// The customer ids, in order.
    public var customerIds: [String] { customers.map(\.id) }

    /// The next record; the stream never ends.
    public mutating func next() -> SimulatedRecord {
        emitted += 1
        while true {
            if pendingIndex < pending.count {
                defer { pendingIndex += 1 }
                return pending[pendingIndex]
            }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            switch phase {
            case .catalog(let index):
                guard index < catalog.count else {
                    phase = .profiles(0)
                    continue
                }
                phase = .catalog(index + 1)
                let product = catalog[index]
                return SimulatedRecord(
                    topic: Topics.catalog,
                    key: product.productId,
                    value: encode(product),
                    // Published before any account event, whenever the product goes on sale.
                    eventTime: firstHistoryDate.addingTimeInterval(-Double(customers.count) - 86_400),
                    isHistory: true,
                    isDeliberatelyInvalid: false
                )
            case .profiles(let index):
                guard index < customers.count else {
                    phase = .history(monthOffset: -historyMonths)
                    continue
                }
                phase = .profiles(index + 1)
                let at = firstHistoryDate.addingTimeInterval(-Double(customers.count - index))
                return accountRecord(.profile(profile(of: index, at: at)), history: true)
            case .history(let offset):
                guard offset <= 0 else {
                    scheduleFirstLiveBills()
                    phase = .live
                    continue
                }
                phase = .history(monthOffset: offset + 1)
                fillHistoryMonth(offset)
            case .live:
                return liveRecord()
            }
        }
    }

    // MARK: - Customers

    struct Customer: Sendable {
        var id: String
        var region: String
        var joinedAt: Date
        var creditScore: Double
        var influence: Double
        var points: Int
        var consent: Bool
        var plan: Int
        var holdings: [Int]
        var voice: Double
        var dataMB: Double
        var sms: Double
        var traveller: Bool
        var billDay: Int
        var billMinute: Int
    }

    /// Region codes as the rules file classes them (and a few it reaches through the prefecture or
    /// province, or not at all), weighted by where customers live.
    private static let regions: [(String, Double)] = [
        ("110000", 6), ("310000", 6), ("440100", 5), ("440300", 4), ("440305", 2), ("110105", 2),
        ("510100", 4), ("500000", 4), ("330100", 4), ("420100", 3), ("320500", 3), ("610100", 3),
        ("320100", 3), ("430100", 2), ("120000", 2), ("410100", 2), ("441900", 2), ("370200", 2),
        ("371300", 4), ("130600", 4), ("450100", 3), ("360100", 3), ("220100", 3), ("340300", 3),
        ("620000", 2), ("620500", 2), ("520300", 2), ("532500", 2), ("630100", 1), ("650100", 1),
        ("540000", 1), ("542100", 1), ("540100", 1),
    ]

    private mutating func makeCustomer(_ index: Int) -> Customer {
        let region = random.pick(weighted: Self.regions)
        let tenureYears = min(20, random.exponential(mean: 4) + 0.05)
        // Spending power: usage and the plan follow it, loosely, so some customers pay for far more
        // than they use and others pay overage (what plan-fit leads are about).
        let power = random.logNormal(median: 1, sigma: 0.6)
        let voice = random.logNormal(median: 220 * power, sigma: 0.5)
        let dataMB = random.logNormal(median: 14_000 * power, sigma: 0.6)
        let plans = planIndexes.sorted { catalog[$0].monthlyFee < catalog[$1].monthlyFee }
        let wanted = clamped(
            Int((log(power) / 0.6 + 2.2 + random.normal(deviation: 1.2)).rounded()),
            0...plans.count - 1
        )
        var holdings: [Int] = []
        for extra in extraIndexes where random.chance(catalog[extra].family == "broadband" ? 0.12 : 0.05) {
            holdings.append(extra)
        }
        return Customer(
            id: "cust-" + Self.padded(index + 1, width: 7),
            region: region,
            joinedAt: start.addingTimeInterval(-tenureYears * 365.25 * 86_400).roundedToSecond,
            creditScore: rounded(clamped(random.normal(mean: 68, deviation: 15), 5...100), places: 1),
            influence: rounded(clamped(random.exponential(mean: 18), 0...100), places: 1),
            points: Int(random.exponential(mean: 1500 * power)),
            consent: random.chance(0.78),
            plan: plans[wanted],
            holdings: holdings,
            voice: voice,
            dataMB: dataMB,
            sms: random.exponential(mean: 20),
            traveller: random.chance(0.08),
            billDay: random.int(1...28),
            billMinute: random.int(0...239)
        )
    }

    private func profile(of index: Int, at: Date) -> AccountEvent.Profile {
        let customer = customers[index]
        return AccountEvent.Profile(
            customerId: customer.id,
            at: at,
            region: customer.region,
            joinedAt: customer.joinedAt,
            creditScore: customer.creditScore,
            influence: customer.influence,
            points: customer.points,
            marketingConsent: customer.consent,
            planId: catalog[customer.plan].productId
        )
    }

    private func queue(of customer: Customer) -> String {
        let fee = catalog[customer.plan].monthlyFee
        return fee >= 199 ? "vip" : fee >= 99 ? "priority" : "standard"
    }

    // MARK: - Bills and history

    /// `start` moved back `historyMonths` calendar months (the day clamped to the month's length).
    private var firstHistoryDate: Date {
        let civil = ShanghaiTime.civil(start)
        let monthIndex = startMonthIndex - historyMonths
        let day = min(civil.day, ShanghaiTime.daysIn(year: monthIndex / 12, month: monthIndex % 12 + 1))
        return ShanghaiTime.date(year: monthIndex / 12, month: monthIndex % 12 + 1, day: day, seconds: civil.seconds)
    }

    /// The bill issue date of `customer` in the month `offset` months from the start's month.
    private func billDate(_ customer: Customer, monthOffset offset: Int) -> (date: Date, period: String) {
        let monthIndex = startMonthIndex + offset
        let year = monthIndex / 12
        let month = monthIndex % 12 + 1
        // Bills are issued between 06:00 and 10:00 on the customer's billing day.
        let date = ShanghaiTime.date(
            year: year,
            month: month,
            day: customer.billDay,
            seconds: Double(6 * 3600 + customer.billMinute * 60)
        )
        let periodIndex = monthIndex - 1
        return (date, Self.padded(periodIndex / 12, width: 4) + "-" + Self.padded(periodIndex % 12 + 1, width: 2))
    }

    /// A time in the month `offset` months from the start's month, after the customer's bill.
    private mutating func purchaseDate(_ customer: Customer, monthOffset offset: Int) -> Date {
        let monthIndex = startMonthIndex + offset
        let day = random.int(customer.billDay...28)
        let seconds = Double(random.int(10...21) * 3600 + random.int(0...59) * 60)
        return ShanghaiTime.date(year: monthIndex / 12, month: monthIndex % 12 + 1, day: day, seconds: seconds)
    }

    private mutating func bill(_ index: Int, at: Date, period: String) -> AccountEvent.Bill {
        let customer = customers[index]
        let plan = catalog[customer.plan]
        var usage: [String: Double] = [
            "voiceMinutes": (customer.voice * random.logNormal(median: 1, sigma: 0.2)).rounded(),
            "dataMB": (customer.dataMB * random.logNormal(median: 1, sigma: 0.25)).rounded(),
            "smsCount": (customer.sms * random.logNormal(median: 1, sigma: 0.3)).rounded(),
            "roamingMinutes": 0,
            "intlMinutes": 0,
        ]
        if customer.traveller && random.chance(0.3) || random.chance(0.02) {
            usage["roamingMinutes"] = random.exponential(mean: 80).rounded()
        }
        if random.chance(0.04) { usage["intlMinutes"] = random.exponential(mean: 30).rounded() }
        var amount = plan.monthlyFee
        for metric in SimulatedCatalog.metrics {
            let used = usage[metric] ?? 0
            let included = plan.allowances[metric] ?? 0
            amount += max(0, used - included) * (plan.overage[metric] ?? 0)
        }
        for extra in customer.holdings { amount += catalog[extra].monthlyFee }
        return AccountEvent.Bill(
            customerId: customer.id,
            at: at,
            period: period,
            amount: rounded(amount, places: 2),
            usage: usage
        )
    }

    /// One month of history: every customer's bill issued that month before `start`, and a few
    /// purchases, in event-time order.
    private mutating func fillHistoryMonth(_ offset: Int) {
        let from = firstHistoryDate
        var records: [(Date, Int, SimulatedRecord)] = []
        for index in customers.indices {
            let (date, period) = billDate(customers[index], monthOffset: offset)
            if date > from && date <= start {
                let record = accountRecord(.bill(bill(index, at: date, period: period)), history: true)
                records.append((date, records.count, record))
            }
            if random.chance(0.05) {
                // Later in the same month, so that every month's records precede the next month's.
                let at = purchaseDate(customers[index], monthOffset: offset)
                if at > from && at <= start, let purchase = purchase(index, at: at) {
                    records.append((at, records.count, accountRecord(.purchase(purchase), history: true)))
                }
            }
        }
        records.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        pending = records.map(\.2)
    }

    private mutating func purchase(_ index: Int, at: Date) -> AccountEvent.Purchase? {
        let candidates = extraIndexes.filter {
            !customers[index].holdings.contains($0) && catalog[$0].isAvailable(at: at)
        }
        guard !candidates.isEmpty else { return nil }
        let product = catalog[random.pick(candidates)]
        let chosen = catalog.firstIndex { $0.productId == product.productId }!
        customers[index].holdings.append(chosen)
        return AccountEvent.Purchase(
            customerId: customers[index].id,
            at: at,
            amount: SimulatedCatalog.purchasePrice(product, random: &random),
            productId: product.productId
        )
    }

    private mutating func scheduleFirstLiveBills() {
        for index in customers.indices {
            var offset = 0
            while billDate(customers[index], monthOffset: offset).date <= start { offset += 1 }
            scheduled.push(at: billDate(customers[index], monthOffset: offset).date, .bill(index, monthOffset: offset))
        }
    }

    // MARK: - Live traffic

    enum Action: Sendable {
        case bill(Int, monthOffset: Int)
        case survey(Int, refersTo: String, topic: String, resolved: Bool, sentiment: Double)
        case followUp(Int, refersTo: String, topic: String)
        case repeatContact(Int, topic: String)
    }

    private mutating func liveRecord() -> SimulatedRecord {
        let now = clock
        liveIndex += 1
        if let due = scheduled.popDue(now) {
            return act(due, at: now)
        }
        let draw = random.pick(weighted: Self.liveMix)
        switch draw {
        case .contact:
            return raw(liveContact(customer: chooseCustomer(), at: now, topic: nil, channel: nil), at: now)
        case .otherContact:
            let channel = random.pick(weighted: [(Channel.sms, 3.0), (.email, 3), (.store, 4)])
            return raw(liveContact(customer: chooseCustomer(), at: now, topic: nil, channel: channel), at: now)
        case .outbound:
            return raw(outbound(customer: chooseCustomer(), at: now), at: now)
        case .onlinePost:
            return raw(post(at: now, offline: false), at: now)
        case .media:
            return raw(post(at: now, offline: true), at: now)
        case .escalation:
            return raw(escalation(at: now), at: now)
        case .purchase:
            let index = chooseCustomer()
            if let purchase = purchase(index, at: now) { return accountRecord(.purchase(purchase), history: false) }
            return accountRecord(.profile(profile(of: index, at: now)), history: false)
        case .profileChange:
            let index = chooseCustomer()
            changeProfile(index)
            return accountRecord(.profile(profile(of: index, at: now)), history: false)
        }
    }

    private enum LiveKind: Sendable {
        case contact, otherContact, outbound, onlinePost, media, escalation, purchase, profileChange
    }

    /// What the live stream is made of, by weight (scheduled surveys, follow-ups, repeat contacts
    /// and bills come on top when due).
    private static let liveMix: [(LiveKind, Double)] = [
        (.contact, 52), (.otherContact, 9), (.outbound, 4), (.onlinePost, 15), (.media, 1.5),
        (.escalation, 1.5), (.purchase, 3), (.profileChange, 2),
    ]

    /// Customers contact unevenly: a few often, most rarely.
    private mutating func chooseCustomer() -> Int {
        min(customers.count - 1, Int(pow(random.unit(), 1.7) * Double(customers.count)))
    }

    private mutating func act(_ action: Action, at now: Date) -> SimulatedRecord {
        switch action {
        case .bill(let index, let offset):
            let (_, period) = billDate(customers[index], monthOffset: offset)
            scheduled.push(
                at: billDate(customers[index], monthOffset: offset + 1).date,
                .bill(index, monthOffset: offset + 1)
            )
            return accountRecord(.bill(bill(index, at: now, period: period)), history: false)
        case .survey(let index, let refersTo, let topic, let resolved, let sentiment):
            return raw(
                survey(index, at: now, refersTo: refersTo, topic: topic, resolved: resolved, sentiment: sentiment),
                at: now
            )
        case .followUp(let index, let refersTo, let topic):
            return raw(followUp(index, at: now, refersTo: refersTo, topic: topic), at: now)
        case .repeatContact(let index, let topic):
            return raw(liveContact(customer: index, at: now, topic: topic, channel: nil), at: now)
        }
    }

    private mutating func nextEventId() -> String {
        sequence += 1
        return idPrefix + String(sequence)
    }

    private mutating func spell(_ channel: Channel) -> String {
        guard random.chance(0.2), let aliases = Self.aliases[channel], !aliases.isEmpty else { return channel.rawValue }
        return random.pick(aliases)
    }

    /// Names adapters send instead of the canonical one (English spellings and Chinese).
    private static let aliases: [Channel: [String]] = [
        .phone: ["电话", "Telephone", "voice"], .chat: ["在线客服", "webchat", "Live Chat"],
        .wechat: ["微信", "WeChat", "weixin"], .app: ["手机APP", "客户端", "mobile-app"], .sms: ["短信", "SMS"],
        .email: ["邮件", "E-mail"], .store: ["营业厅", "门店", "Retail"], .weibo: ["微博", "Sina Weibo"],
        .tieba: ["贴吧"], .zhihu: ["知乎"], .toutiao: ["今日头条", "头条"], .wechatOfficial: ["公众号", "微信公众号"],
        .tv: ["电视台", "TV"], .radio: ["广播", "电台"], .newspaper: ["报纸", "Press"],
        .hotline12315: ["12315", "12315热线"], .hotline12345: ["12345", "12345热线"],
        .regulator: ["监管机构", "Regulator"], .industryAssociation: ["行业协会"],
    ]

    private mutating func chooseTopic() -> (topic: String, department: String) {
        let entry = random.pick(weighted: SimulatedText.topics.map { (($0.topic, $0.department), $0.weight) })
        return entry
    }

    private func department(of topic: String) -> String {
        SimulatedText.topics.first { $0.topic == topic }?.department ?? "service"
    }

    /// A customer contact on a live channel (phone, chat, wechat, app) or, when `channel` says so,
    /// sms, e-mail or a store visit.
    private mutating func liveContact(
        customer index: Int,
        at now: Date,
        topic: String?,
        channel: Channel?
    ) -> RawInteraction {
        let customer = customers[index]
        let channel =
            channel ?? random.pick(weighted: [(Channel.phone, 45.0), (.chat, 15), (.wechat, 20), (.app, 12)])
        let topic = topic ?? chooseTopic().topic
        let complaintShare: Double =
            switch topic {
            case "billing", "network": 0.2
            case "refund", "broadband": 0.3
            default: 0.08
            }
        let kind: InteractionKind =
            random.chance(complaintShare) ? .complaint : random.chance(0.3) ? .request : .inquiry
        var record = RawInteraction(
            eventId: nextEventId(),
            occurredAt: now,
            channel: spell(channel),
            kind: kind.rawValue,
            customerId: customer.id,
            department: channel == .store ? "store" : department(of: topic),
            topic: topic,
            queue: queue(of: customer)
        )
        let team = "team-\(queue(of: customer))-\(random.int(1...4))"
        var answered = true
        if channel.isLive {
            // Waits are exponential (mean 35 s on the phone, 20 s in text channels); a caller hangs
            // up after an exponential patience (mean 120 s), so a few hang up within 5 s.
            let wait = random.exponential(mean: channel == .phone ? 35 : 20)
            let patience = random.exponential(mean: 120)
            answered = wait <= patience
            record.answered = answered
            record.waitSeconds = rounded(answered ? wait : patience, places: 1)
        }
        guard answered else {
            record.text = random.pick(SimulatedText.contactLines[topic] ?? ["客户来电后挂断"])
            if random.chance(0.45) {
                scheduled.push(
                    at: now.addingTimeInterval(random.double(60...1800)),
                    .repeatContact(index, topic: topic)
                )
            }
            return record
        }
        record.teamId = team
        record.agentId = "agent-" + Self.padded(random.int(1...180), width: 3)
        let median: Double =
            switch channel {
            case .phone: 240
            case .chat, .app: 420
            case .wechat: 360
            case .store: 600
            default: 180
            }
        record.handleSeconds = rounded(
            random.logNormal(median: median * (kind == .complaint ? 1.6 : 1), sigma: 0.5),
            places: 1
        )
        let transfers = random.pick(weighted: [(0, kind == .complaint ? 70.0 : 85), (1, 12), (2, 3)])
        record.transfers = transfers
        let resolved = random.chance(0.84 - 0.15 * Double(transfers) - (kind == .complaint ? 0.3 : 0))
        record.resolved = resolved
        let base: Double = kind == .complaint ? -0.5 : kind == .request ? 0.1 : 0.2
        let sentiment = rounded(
            clamped(random.normal(mean: base + (resolved ? 0.2 : -0.25), deviation: 0.25), -1...1),
            places: 2
        )
        record.sentiment = sentiment
        record.signals = signals(kind: kind, topic: topic, resolved: resolved, sentiment: sentiment, channel: channel)
        var text = random.pick(SimulatedText.contactLines[topic] ?? ["客户来电咨询"])
        if random.chance(channel == .email ? 0.5 : 0.06) { text += SimulatedText.contactDetail(random: &random) }
        record.text = text
        if kind == .complaint && !resolved { remember(aggrieved: index) }
        let end = now.addingTimeInterval((record.waitSeconds ?? 0) + (record.handleSeconds ?? 0))
        if random.chance(0.35) {
            scheduled.push(
                at: end.addingTimeInterval(random.double(60...900)),
                .survey(index, refersTo: record.eventId ?? "", topic: topic, resolved: resolved, sentiment: sentiment)
            )
        }
        if !resolved {
            if kind == .complaint {
                scheduled.push(
                    at: end.addingTimeInterval(random.double(900...5400)),
                    .followUp(index, refersTo: record.eventId ?? "", topic: topic)
                )
            } else if random.chance(0.4) {
                scheduled.push(
                    at: end.addingTimeInterval(random.double(300...7200)),
                    .repeatContact(index, topic: topic)
                )
            }
        }
        return record
    }

    private mutating func signals(
        kind: InteractionKind,
        topic: String,
        resolved: Bool,
        sentiment: Double,
        channel: Channel
    ) -> [String]? {
        var signals: [String] = []
        if kind == .complaint {
            if random.chance(resolved ? 0.12 : 0.25) { signals.append("churn_threat") }
            if random.chance(0.12) { signals.append("competitor_mention") }
            if (topic == "billing" || topic == "plan") && random.chance(0.3) { signals.append("price_complaint") }
        } else if topic == "plan" && random.chance(0.25) {
            signals.append("wants_cheaper_plan")
        } else if resolved && sentiment > 0.2 && random.chance(0.2) {
            let family = random.pick(weighted: [
                ("plan", 3.0), ("broadband", 2), ("addon", 3), ("device", 1.5), ("service", 1),
            ])
            signals.append("interest:" + family)
        }
        if random.chance(0.03) { signals.append("decline_marketing") }
        if random.chance(0.006) { signals.append("opt_out") }
        return signals.isEmpty ? nil : signals
    }

    private mutating func remember(aggrieved index: Int) {
        aggrieved.append(index)
        if aggrieved.count > 64 { aggrieved.removeFirst() }
    }

    private mutating func survey(
        _ index: Int,
        at now: Date,
        refersTo: String,
        topic: String,
        resolved: Bool,
        sentiment: Double
    ) -> RawInteraction {
        // CSAT follows the outcome; effort and NPS follow CSAT, as they do in real survey data.
        let csat =
            resolved
            ? random.pick(weighted: [(5, 50.0), (4, 30), (3, 12), (2, 5), (1, 3)])
            : random.pick(weighted: [(5, 8.0), (4, 15), (3, 27), (2, 25), (1, 25)])
        let effort = clamped(6 - csat + random.pick(weighted: [(-1, 2.0), (0, 6), (1, 2)]), 1...5)
        let nps = clamped(csat * 2 + random.int(-2...0) + (csat == 5 ? 1 : 0), 0...10)
        return RawInteraction(
            eventId: nextEventId(),
            occurredAt: now,
            channel: spell(random.chance(0.6) ? .sms : .wechat),
            kind: InteractionKind.survey.rawValue,
            customerId: customers[index].id,
            department: department(of: topic),
            topic: topic,
            refersTo: refersTo,
            csat: csat,
            effort: effort,
            nps: nps,
            sentiment: rounded(clamped(sentiment + Double(csat - 3) * 0.1, -1...1), places: 2)
        )
    }

    private mutating func followUp(_ index: Int, at now: Date, refersTo: String, topic: String) -> RawInteraction {
        let resolved = random.chance(0.6)
        return RawInteraction(
            eventId: nextEventId(),
            occurredAt: now,
            channel: spell(.phone),
            kind: InteractionKind.followUp.rawValue,
            customerId: customers[index].id,
            department: "after_sales",
            topic: topic,
            queue: "callback",
            teamId: "team-callback-1",
            agentId: "agent-" + Self.padded(random.int(1...180), width: 3),
            answered: true,
            handleSeconds: rounded(random.logNormal(median: 180, sigma: 0.4), places: 1),
            resolved: resolved,
            transfers: 0,
            refersTo: refersTo,
            sentiment: rounded(clamped(random.normal(mean: resolved ? 0.2 : -0.4, deviation: 0.2), -1...1), places: 2),
            text: resolved ? "回访:问题已处理完毕,客户表示认可" : "回访:客户对处理结果仍不满意,要求升级处理"
        )
    }

    private mutating func outbound(customer index: Int, at now: Date) -> RawInteraction {
        let campaign = random.pick(Array(SimulatedText.campaigns.prefix(3)))
        let answered = random.chance(0.55)
        var record = RawInteraction(
            eventId: nextEventId(),
            occurredAt: now,
            channel: spell(.phone),
            kind: InteractionKind.outbound.rawValue,
            customerId: customers[index].id,
            department: "product",
            topic: "promotion",
            queue: "outbound",
            teamId: "team-outbound-\(random.int(1...3))",
            answered: answered,
            campaignId: campaign.id
        )
        guard answered else { return record }
        record.agentId = "agent-" + Self.padded(random.int(181...220), width: 3)
        record.handleSeconds = rounded(random.logNormal(median: 110, sigma: 0.5), places: 1)
        record.transfers = 0
        record.resolved = true
        let reaction = random.pick(weighted: [("interested", 2.0), ("neutral", 5), ("decline", 3), ("opt_out", 0.3)])
        var signals: [String] = []
        switch reaction {
        case "interested": signals = ["interest:" + random.pick(["plan", "broadband", "addon"])]
        case "decline": signals = ["decline_marketing"]
        case "opt_out": signals = ["opt_out", "decline_marketing"]
        default: break
        }
        record.signals = signals.isEmpty ? nil : signals
        record.sentiment = rounded(
            clamped(
                random.normal(mean: reaction == "interested" ? 0.4 : reaction == "neutral" ? 0 : -0.3, deviation: 0.2),
                -1...1
            ),
            places: 2
        )
        record.text =
            "外呼推荐\(campaign.name),客户" + (reaction == "interested" ? "表示有兴趣" : reaction == "neutral" ? "表示再考虑" : "明确拒绝")
        return record
    }

    /// A public post, article or broadcast about us or a competitor.
    private mutating func post(at now: Date, offline: Bool) -> RawInteraction {
        let channel: Channel =
            offline
            ? random.pick(weighted: [(.tv, 1.0), (.radio, 1), (.newspaper, 1.5)])
            : random.pick(weighted: [(.weibo, 35.0), (.tieba, 12), (.zhihu, 15), (.toutiao, 18), (.wechatOfficial, 20)])
        let own = random.chance(0.55)
        let brand = own ? "own" : random.pick(SimulatedText.competitors)
        let name = own ? SimulatedText.ownName : brand
        let topic = chooseTopic().topic
        var campaignId: String?
        var mood = own ? -0.1 : 0
        if own && random.chance(0.3) {
            let campaign = random.pick(SimulatedText.campaigns)
            campaignId = campaign.id
            mood = campaign.mood
        }
        let sentiment = rounded(clamped(random.normal(mean: mood, deviation: 0.45), -1...1), places: 2)
        var text: String
        if offline {
            text = SimulatedText.fill(random.pick(SimulatedText.mediaLines), brand: name, topic: topic)
        } else {
            let lines =
                sentiment > 0.2
                ? SimulatedText.positivePosts
                : sentiment < -0.2 ? SimulatedText.negativePosts : SimulatedText.neutralPosts
            text = SimulatedText.fill(random.pick(lines), brand: name, topic: topic)
            if let campaignId, let campaign = SimulatedText.campaigns.first(where: { $0.id == campaignId }) {
                text = "#\(campaign.name)# " + text
            }
            if random.chance(0.08) { text += SimulatedText.contactDetail(random: &random) }
        }
        let median: Double =
            switch channel {
            case .weibo: 2000
            case .toutiao: 5000
            case .wechatOfficial: 3000
            case .zhihu: 800
            case .tieba: 300
            default: 200_000
            }
        return RawInteraction(
            eventId: nextEventId(),
            occurredAt: now,
            channel: spell(channel),
            kind: InteractionKind.opinion.rawValue,
            topic: topic,
            sentiment: sentiment,
            brand: brand,
            campaignId: campaignId,
            reach: Int(random.logNormal(median: median, sigma: 1.2)),
            text: text
        )
    }

    /// A complaint to a consumer hotline or a regulator, mostly by a customer whose complaint we
    /// did not resolve.
    private mutating func escalation(at now: Date) -> RawInteraction {
        let index = !aggrieved.isEmpty && random.chance(0.8) ? aggrieved.removeFirst() : chooseCustomer()
        let channel = random.pick(
            weighted: [(Channel.hotline12315, 45.0), (.hotline12345, 35), (.regulator, 15), (.industryAssociation, 5)]
        )
        let topic = random.pick(weighted: [
            ("billing", 4.0), ("network", 2), ("broadband", 2), ("refund", 2), ("promotion", 1),
        ])
        var signals = ["complaint_escalated"]
        if random.chance(0.4) { signals.append("churn_threat") }
        return RawInteraction(
            eventId: nextEventId(),
            occurredAt: now,
            channel: spell(channel),
            kind: InteractionKind.complaint.rawValue,
            customerId: customers[index].id,
            department: "service",
            topic: topic,
            sentiment: rounded(random.double(-0.95 ... -0.55), places: 2),
            signals: signals,
            brand: "own",
            text: SimulatedText.fill(
                random.pick(SimulatedText.escalationLines),
                brand: SimulatedText.ownName,
                topic: topic
            )
        )
    }

    private mutating func changeProfile(_ index: Int) {
        switch random.int(0...3) {
        case 0: customers[index].consent.toggle()
        case 1: customers[index].points += random.int(10...500)
        case 2:
            customers[index].creditScore = rounded(
                clamped(customers[index].creditScore + random.normal(deviation: 5), 0...100),
                places: 1
            )
        default:
            let plans = planIndexes.filter { catalog[$0].isAvailable(at: clock) }
            if !plans.isEmpty { customers[index].plan = random.pick(plans) }
        }
    }

    // MARK: - Records

    private func encode(_ value: some Encodable) -> [UInt8] {
        // The generator only makes finite numbers and dates within years 0001–9999 (the command
        // checks --start), the two things encoding refuses.
        try! TandemJSON.encode(value)
    }

    private func accountRecord(_ event: AccountEvent, history: Bool) -> SimulatedRecord {
        SimulatedRecord(
            topic: Topics.accounts,
            key: event.customerId,
            value: encode(event),
            eventTime: event.at,
            isHistory: history,
            isDeliberatelyInvalid: false
        )
    }

    private mutating func raw(_ record: RawInteraction, at now: Date) -> SimulatedRecord {
        var record = record
        let value: [UInt8]
        var invalid = false
        if invalidShare > 0 && random.chance(invalidShare) {
            invalid = true
            value = corrupt(&record)
        } else {
            value = try! FastJSON.encode(record)
        }
        return SimulatedRecord(
            topic: Topics.interactionsRaw,
            key: record.customerId ?? record.eventId ?? "invalid-\(sequence)",
            value: value,
            eventTime: now,
            isHistory: false,
            isDeliberatelyInvalid: invalid
        )
    }

    /// Breaks one rule of SPEC §2's RawInteraction table (or the JSON itself), the mistakes real
    /// adapters make; returns the bytes to send.
    private mutating func corrupt(_ record: inout RawInteraction) -> [UInt8] {
        switch random.int(0...7) {
        case 0: record.eventId = nil
        case 1: record.channel = random.pick(["carrier_pigeon", "信鸽", "fax"])
        case 2: record.csat = random.pick([0, 6, 9])
        case 3: record.occurredAt = record.occurredAt?.addingTimeInterval(2 * 86_400)
        case 4:
            record.kind = InteractionKind.inquiry.rawValue
            record.customerId = nil
        case 5: record.kind = random.pick(["praise", "Complaint!", ""])
        case 6: record.waitSeconds = -random.double(1...30).rounded()
        default:
            let bytes = try! FastJSON.encode(record)
            return Array(bytes.prefix(bytes.count / 2))
        }
        return try! FastJSON.encode(record)
    }

    static func padded(_ number: Int, width: Int) -> String {
        let digits = String(number)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

/// Civil dates in Asia/Shanghai: UTC+8, without daylight saving since 1991, so plain arithmetic
/// (the days-from-civil algorithm of the proleptic Gregorian calendar) replaces a `Calendar`,
/// which is slow enough to matter with a million customers.
enum ShanghaiTime {
    static let offset: Double = 8 * 3600

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The instant of a Shanghai wall-clock time.
    static func date(year: Int, month: Int, day: Int, seconds: Double) -> Date {
        Date(timeIntervalSince1970: Double(days(year: year, month: month, day: day)) * 86_400 + seconds - offset)
    }

    static func daysIn(year: Int, month: Int) -> Int {
        let next = month == 12 ? days(year: year + 1, month: 1, day: 1) : days(year: year, month: month + 1, day: 1)
        return next - days(year: year, month: month, day: 1)
    }

    /// Year, month, day and seconds into the day of an instant, in Shanghai.
    static func civil(_ date: Date) -> (year: Int, month: Int, day: Int, seconds: Double) {
        let local = date.timeIntervalSince1970 + offset
        let dayNumber = Int((local / 86_400).rounded(.down))
        let seconds = local - Double(dayNumber) * 86_400
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day, seconds)
    }
}

extension Date {
    fileprivate var roundedToSecond: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded()) }
}

/// Due actions by time, ties in push order (a binary min-heap).
struct ScheduleHeap: Sendable {
    private var items: [(time: Double, order: Int, action: TrafficGenerator.Action)] = []
    private var pushes = 0

    mutating func push(at date: Date, _ action: TrafficGenerator.Action) {
        pushes += 1
        items.append((date.timeIntervalSince1970, pushes, action))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest action due at or before `now`, removed.
    mutating func popDue(_ now: Date) -> TrafficGenerator.Action? {
        guard let first = items.first, first.time <= now.timeIntervalSince1970 else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count && less(left, smallest) { smallest = left }
                if right < items.count && less(right, smallest) { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first.action
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        (items[a].time, items[a].order) < (items[b].time, items[b].order)
    }
}
