import Foundation
import Models
import ServiceKit
import Testing

/// Writes `contents` to a fresh temporary file and passes its path to `body`.
private func withRulesFile<T>(_ contents: String, _ body: (String) throws -> T) throws -> T {
    try withRulesFile(Data(contents.utf8), body)
}

private func withRulesFile<T>(_ contents: Data, _ body: (String) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-rules-\(UUID().uuidString).yaml")
    try contents.write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
}

/// The error loading `contents` gives, or nil when it loads.
private func loadError(_ contents: String) throws -> ConfigurationError? {
    try withRulesFile(contents) { (path: String) -> ConfigurationError? in
        do throws(ConfigurationError) {
            _ = try Rules.load(path: path)
            return nil
        } catch {
            return error
        }
    }
}

private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // ServiceKitTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()

@Suite("business rules")
struct RulesTests {
    // MARK: Defaults and the shipped file

    @Test func defaultsValidate() throws {
        try Rules.defaults.validate()
        #expect(try Rules.load(path: nil) == Rules.defaults)
    }

    @Test func shippedFileEqualsTheDefaultsAndSetsEveryKey() throws {
        let path = repositoryRoot.appendingPathComponent("rules/tandem-rules.yaml").path
        #expect(try Rules.load(path: path) == Rules.defaults)
        #expect(try Rules.keysLeftAtDefault(path: path) == [])
    }

    @Test func defaultsSaySPECsNumbers() {
        let rules = Rules.defaults
        #expect(rules.segmentation.arpu.billCount == 3)
        #expect(rules.segmentation.value.weights.arpu == 50)
        #expect(rules.segmentation.value.weights.credit == 20)
        #expect(rules.segmentation.value.weights.influence == 15)
        #expect(rules.segmentation.value.weights.tenure == 15)
        #expect(rules.segmentation.tiers.highMinScore == 70)
        #expect(rules.segmentation.tiers.midMinScore == 40)
        #expect(rules.segmentation.tiers.hysteresisPoints == 2)
        #expect(rules.segmentation.activity.activeMaxDays == 30)
        #expect(rules.segmentation.activity.coolingMaxDays == 90)
        #expect(
            rules.segmentation.rfm.segments.map(\.name).sorted() == [
                "About to Sleep", "At Risk", "Can't Lose", "Champions", "Hibernating", "Lost", "Loyal",
                "Need Attention", "New", "Potential Loyalist", "Promising",
            ]
        )
        #expect(rules.leads.planFit.minSavingPercent == 10)
        #expect(rules.leads.contact.caps == .init(high: 3, mid: 2, low: 1))
        #expect(rules.leads.contact.decline.anyLeadBlockDays == 14)
        #expect(rules.leads.contact.decline.sameTypeBlockDays == 90)
        #expect(rules.leads.contact.decline.repeatBlockDays == 180)
        #expect(rules.leads.leadTtlDays == 14)
        #expect(rules.leads.propensity.floor == 0.05)
        #expect(rules.kpi.timeZone == "Asia/Shanghai")
        #expect(rules.kpi.windows.minute.graceSeconds == 5 * 60)
        #expect(rules.kpi.windows.hour.graceSeconds == 60 * 60)
        #expect(rules.kpi.windows.day.graceSeconds == 48 * 60 * 60)
        #expect(rules.kpi.shortAbandonSeconds == 5)
        #expect(rules.kpi.serviceLevelSeconds == 20)
        #expect(rules.kpi.repeatContactDays == 7)
    }

    // MARK: Partial files

    @Test func aPartialFileOverridesOnlyItsKey() throws {
        let rules = try withRulesFile("leads:\n  contact:\n    caps:\n      high: 4\n") { try Rules.load(path: $0) }
        var expected = Rules.defaults
        expected.leads.contact.caps.high = 4
        #expect(rules == expected)
    }

    @Test func aFileOfCommentsKeepsEveryDefault() throws {
        let rules = try withRulesFile("# nothing to change\n") { try Rules.load(path: $0) }
        #expect(rules == Rules.defaults)
    }

    @Test func keysLeftAtDefaultNamesWhatAPartialFileDoesNotSet() throws {
        let left = try withRulesFile("eventTime:\n  idleTimeoutSeconds: 10\nkpi:\n  timeZone: Asia/Urumqi\n") {
            try Rules.keysLeftAtDefault(path: $0)
        }
        #expect(left.contains("segmentation"))
        #expect(left.contains("leads"))
        #expect(left.contains("kpi.windows"))
        #expect(!left.contains("kpi.timeZone"))
        #expect(!left.contains("eventTime.idleTimeoutSeconds"))
    }

    @Test func regionTablesGainTheFilesEntries() throws {
        let yaml = """
            segmentation:
              regions:
                classes: {coastal: 1.1}
                codes:
                  "350500": coastal
                  440300: tier2
            """
        let rules = try withRulesFile(yaml) { try Rules.load(path: $0) }
        let regions = rules.segmentation.regions
        #expect(regions.classes["coastal"] == 1.1)
        #expect(regions.classes["tier1"] == 1.3)
        #expect(regions.regionClass(of: "350583") == "coastal")  // Nan'an, under Quanzhou
        #expect(regions.regionClass(of: "440305") == "tier2")  // Nanshan, Shenzhen: reassigned
        #expect(regions.regionClass(of: "110105") == "tier1")  // Chaoyang, Beijing: kept
    }

    @Test func aListIsReplacedWhole() throws {
        let yaml = """
            segmentation:
              tags:
                loyaltyPoints:
                  - {name: member, atLeast: 0}
                  - {name: vip, atLeast: 8000}
            """
        let rules = try withRulesFile(yaml) { try Rules.load(path: $0) }
        #expect(rules.segmentation.tags.loyaltyPoints.map(\.name) == ["member", "vip"])
        #expect(rules.segmentation.tags.tenureYears == Rules.defaults.segmentation.tags.tenureYears)
    }

    // MARK: Bad files name the key

    @Test(arguments: [
        ("leads:\n  contact:\n    caps:\n      hihg: 4\n", "TANDEM_RULES: leads.contact.caps.hihg"),
        ("kpis:\n  timeZone: UTC\n", "TANDEM_RULES: kpis"),
        (
            "segmentation:\n  rfm:\n    segments:\n"
                + "      - {id: all, name: All, colour: red, recency: {min: 1, max: 5}, frequency: {min: 1, max: 5}, monetary: {min: 1, max: 5}}\n",
            "TANDEM_RULES: segmentation.rfm.segments[0].colour"
        ),
    ])
    func anUnknownKeyIsNamed(yaml: String, key: String) throws {
        let error = try #require(try loadError(yaml))
        #expect(error.key == key)
    }

    @Test func anUnknownKeySaysWhereAndWhatIsKnown() throws {
        let error = try #require(try loadError("leads:\n  contact:\n    caps:\n      hihg: 4\n"))
        #expect(error.problem == "unknown key (line 4); the keys here are high, mid, low")
    }

    @Test(arguments: [
        ("leads:\n  leadTtlDays: two weeks\n", "TANDEM_RULES: leads.leadTtlDays"),
        ("leads:\n  leadTtlDays: 14.5\n", "TANDEM_RULES: leads.leadTtlDays"),
        ("kpi: 5\n", "TANDEM_RULES: kpi"),
        ("kpi:\n  timeZone: [Asia/Shanghai]\n", "TANDEM_RULES: kpi.timeZone"),
        ("segmentation:\n  rfm:\n    recencyMaxDays: 35\n", "TANDEM_RULES: segmentation.rfm.recencyMaxDays"),
        (
            "segmentation:\n  rfm:\n    recencyMaxDays: [35, soon, 100, 180]\n",
            "TANDEM_RULES: segmentation.rfm.recencyMaxDays[1]"
        ),
        (
            "segmentation:\n  servicePolicy:\n    high:\n      dedicatedAccountManager: maybe\n",
            "TANDEM_RULES: segmentation.servicePolicy.high.dedicatedAccountManager"
        ),
        ("leads:\n  winBack:\n    minTier: gold\n", "TANDEM_RULES: leads.winBack.minTier"),
        (
            "segmentation:\n  regions:\n    codes:\n      \"350500\": {class: tier2}\n",
            "TANDEM_RULES: segmentation.regions.codes.350500"
        ),
        (
            "segmentation:\n  regions:\n    classes:\n      coastal: high\n",
            "TANDEM_RULES: segmentation.regions.classes.coastal"
        ),
        ("leads:\n  leadTtlDays:\n", "TANDEM_RULES: leads.leadTtlDays"),
        (
            "segmentation:\n  rfm:\n    segments:\n      - {id: all, name: All, recency: {min: 1, max: 5}, frequency: {min: 1, max: 5}}\n",
            "TANDEM_RULES: segmentation.rfm.segments[0].monetary"
        ),
    ])
    func aWrongTypeIsNamed(yaml: String, key: String) throws {
        let error = try #require(try loadError(yaml))
        #expect(error.key == key)
    }

    @Test func aWrongTypeSaysWhatWasExpected() throws {
        let error = try #require(try loadError("leads:\n  leadTtlDays: two weeks\n"))
        #expect(error.problem == "expected a whole number (line 2), found 'two weeks'")
        let tier = try #require(try loadError("leads:\n  winBack:\n    minTier: gold\n"))
        #expect(tier.problem.contains("expected one of low, mid, high, found 'gold'"))
    }

    @Test(arguments: [
        ("segmentation:\n  tiers:\n    midMinScore: 70\n", "TANDEM_RULES: segmentation.tiers.midMinScore"),
        ("segmentation:\n  tiers:\n    hysteresisPoints: 15\n", "TANDEM_RULES: segmentation.tiers.hysteresisPoints"),
        ("leads:\n  contact:\n    caps:\n      low: -1\n", "TANDEM_RULES: leads.contact.caps.low"),
        ("segmentation:\n  value:\n    weights:\n      arpu: 60\n", "TANDEM_RULES: segmentation.value.weights"),
        ("kpi:\n  timeZone: Mars/Olympus_Mons\n", "TANDEM_RULES: kpi.timeZone"),
        (
            "segmentation:\n  regions:\n    classes:\n      rural: 0\n",
            "TANDEM_RULES: segmentation.regions.classes.rural"
        ),
        (
            "segmentation:\n  regions:\n    codes:\n      \"350500\": tier9\n",
            "TANDEM_RULES: segmentation.regions.codes.350500"
        ),
        (
            "segmentation:\n  regions:\n    codes:\n      \"3505\": tier2\n",
            "TANDEM_RULES: segmentation.regions.codes.3505"
        ),
        ("segmentation:\n  regions:\n    defaultClass: suburb\n", "TANDEM_RULES: segmentation.regions.defaultClass"),
        (
            "segmentation:\n  rfm:\n    recencyMaxDays: [35, 30, 100, 180]\n",
            "TANDEM_RULES: segmentation.rfm.recencyMaxDays[1]"
        ),
        (
            "segmentation:\n  rfm:\n    frequencyMinCount: [4, 10, 14]\n",
            "TANDEM_RULES: segmentation.rfm.frequencyMinCount"
        ),
        (
            "segmentation:\n  rfm:\n    segments:\n"
                + "      - {id: champions, name: Champions, recency: {min: 5, max: 5}, frequency: {min: 4, max: 5}, monetary: {min: 1, max: 5}}\n",
            "TANDEM_RULES: segmentation.rfm.segments"
        ),
        (
            "segmentation:\n  rfm:\n    segments:\n"
                + "      - {id: all, name: All, recency: {min: 4, max: 2}, frequency: {min: 1, max: 5}, monetary: {min: 1, max: 5}}\n",
            "TANDEM_RULES: segmentation.rfm.segments[0].recency.min"
        ),
        ("segmentation:\n  activity:\n    coolingMaxDays: 30\n", "TANDEM_RULES: segmentation.activity.coolingMaxDays"),
        (
            "segmentation:\n  servicePolicy:\n    high:\n      priority: 5\n",
            "TANDEM_RULES: segmentation.servicePolicy.high.priority"
        ),
        (
            "segmentation:\n  servicePolicy:\n    low:\n      queue: \"\"\n",
            "TANDEM_RULES: segmentation.servicePolicy.low.queue"
        ),
        ("segmentation:\n  churnRisk:\n    highComplaints: 1\n", "TANDEM_RULES: segmentation.churnRisk.highComplaints"),
        (
            "segmentation:\n  tags:\n    tenureYears:\n      - {name: any, atLeast: 1}\n",
            "TANDEM_RULES: segmentation.tags.tenureYears[0].atLeast"
        ),
        ("leads:\n  propensity:\n    floor: 0.2\n", "TANDEM_RULES: leads.propensity.floor"),
        ("leads:\n  riskLevel:\n    mediumCreditBelow: 30\n", "TANDEM_RULES: leads.riskLevel.mediumCreditBelow"),
        (
            "leads:\n  contact:\n    decline:\n      sameTypeBlockDays: 7\n",
            "TANDEM_RULES: leads.contact.decline.sameTypeBlockDays"
        ),
        ("leads:\n  crossSell:\n    minCsat: 6\n", "TANDEM_RULES: leads.crossSell.minCsat"),
        ("kpi:\n  windows:\n    day:\n      graceSeconds: -1\n", "TANDEM_RULES: kpi.windows.day.graceSeconds"),
        ("kpi:\n  alerts:\n    factor: .nan\n", "TANDEM_RULES: kpi.alerts.factor"),
        ("eventTime:\n  idleTimeoutSeconds: 0\n", "TANDEM_RULES: eventTime.idleTimeoutSeconds"),
    ])
    func anOutOfRangeValueIsNamed(yaml: String, key: String) throws {
        let error = try #require(try loadError(yaml))
        #expect(error.key == key)
    }

    @Test func anOutOfRangeValueSaysWhy() throws {
        let tiers = try #require(try loadError("segmentation:\n  tiers:\n    midMinScore: 75\n"))
        #expect(tiers.problem == "must be below highMinScore (70), is 75 (line 3)")
        let weights = try #require(try loadError("segmentation:\n  value:\n    weights:\n      arpu: 60\n"))
        #expect(weights.problem == "must add up to 100, not 110 (line 3)")
        let cap = try #require(try loadError("leads:\n  contact:\n    caps:\n      low: -1\n"))
        #expect(cap.problem == "must be between 0 and 100, is -1 (line 4)")
    }

    @Test func aMissingFileIsNamed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "no-such-rules-\(UUID().uuidString).yaml"
        ).path
        let error = try #require(throws: ConfigurationError.self) { try Rules.load(path: path) }
        #expect(error.key == "TANDEM_RULES")
        #expect(error.problem.contains(path))
    }

    @Test func aDirectoryIsNoRulesFile() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try Rules.load(path: FileManager.default.temporaryDirectory.path)
        }
        #expect(error.key == "TANDEM_RULES")
    }

    @Test(arguments: [
        "segmentation: [unclosed\n  tiers: {\n",
        "leads:\n\tcaps: 3\n",
        "just some words, not rules\n",
        "- a\n- list\n",
        "leads:\n  leadTtlDays: 14\nleads:\n  leadTtlDays: 7\n",
    ])
    func garbageIsNamed(yaml: String) throws {
        let error = try #require(try loadError(yaml))
        #expect(error.key == "TANDEM_RULES")
    }

    @Test func binaryGarbageIsNamed() throws {
        let error = try withRulesFile(Data([0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28, 0x80])) { path in
            #expect(throws: ConfigurationError.self) { try Rules.load(path: path) }
        }
        #expect(error?.key == "TANDEM_RULES")
    }

    @Test func everyExtensibleMappingIsAMappingOfTheDefaults() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Rules.defaults))
        for path in Rules.extensibleMappings {
            var node: Any? = json
            for key in path.split(separator: ".") { node = (node as? [String: Any])?[String(key)] }
            #expect(node is [String: Any], "\(path)")
        }
    }

    // MARK: What the thresholds mean, by hand-computed examples

    @Test func rfmScoresAndSegments() {
        let rfm = Rules.defaults.segmentation.rfm
        // recencyMaxDays [35, 65, 100, 180]
        #expect(rfm.recencyScore(days: 0) == 5)
        #expect(rfm.recencyScore(days: 35) == 5)
        #expect(rfm.recencyScore(days: 36) == 4)
        #expect(rfm.recencyScore(days: 100) == 3)
        #expect(rfm.recencyScore(days: 180) == 2)
        #expect(rfm.recencyScore(days: 181) == 1)
        // frequencyMinCount [4, 10, 14, 20]: twelve monthly bills score 3.
        #expect(rfm.frequencyScore(count: 3) == 1)
        #expect(rfm.frequencyScore(count: 12) == 3)
        #expect(rfm.frequencyScore(count: 20) == 5)
        // monetaryMinAmount [300, 720, 1500, 3600]
        #expect(rfm.monetaryScore(amount: 299.99) == 1)
        #expect(rfm.monetaryScore(amount: 1500) == 4)
        #expect(rfm.segment(recency: 5, frequency: 4, monetary: 3)?.id == "champions")
        #expect(rfm.segment(recency: 5, frequency: 4, monetary: 2)?.id == "loyal")
        #expect(rfm.segment(recency: 5, frequency: 3, monetary: 5)?.id == "potential_loyalist")
        #expect(rfm.segment(recency: 5, frequency: 1, monetary: 1)?.id == "new")
        #expect(rfm.segment(recency: 2, frequency: 5, monetary: 5)?.id == "cant_lose")
        #expect(rfm.segment(recency: 2, frequency: 5, monetary: 3)?.id == "at_risk")
        #expect(rfm.segment(recency: 2, frequency: 2, monetary: 5)?.id == "hibernating")
        #expect(rfm.segment(recency: 1, frequency: 1, monetary: 1)?.name == "Lost")
    }

    @Test func regionClassesAndValueScore() {
        let segmentation = Rules.defaults.segmentation
        let regions = segmentation.regions
        #expect(regions.regionClass(of: "110000") == "tier1")
        #expect(regions.regionClass(of: "440305") == "tier1")  // Nanshan via Shenzhen 440300
        #expect(regions.regionClass(of: "620500") == "county")  // Tianshui via Gansu 620000
        #expect(regions.regionClass(of: "620102") == "tier3")  // a Lanzhou district via 620100
        #expect(regions.regionClass(of: "540102") == "tier3")  // a Lhasa district via 540100
        #expect(regions.regionClass(of: "542500") == "rural")  // Ngari via Tibet 540000
        #expect(regions.regionClass(of: "990000") == "tier3")
        #expect(regions.regionClass(of: "not a code") == "tier3")
        #expect(regions.coefficient(of: "310104") == 1.3)
        #expect(regions.coefficient(of: "542500") == 0.7)

        // Beijing, ARPU 390 ÷ 1.3 = 300 → 50; credit 80 → 16; influence 20 → 3; 5 of 10 years → 7.5.
        let value = segmentation.value
        let beijing = value.score(arpu: 390, regionCoefficient: 1.3, creditScore: 80, influence: 20, tenureYears: 5)
        #expect(abs(beijing - 76.5) < 1e-9)
        // Tibet, ARPU 105 ÷ 0.7 = 150 → 25; credit 50 → 10; influence 0; 12 years (capped at 10) → 15.
        let tibet = value.score(arpu: 105, regionCoefficient: 0.7, creditScore: 50, influence: 0, tenureYears: 12)
        #expect(abs(tibet - 50) < 1e-9)
    }

    @Test func tiersHaveHysteresis() {
        let tiers = Rules.defaults.segmentation.tiers
        #expect(tiers.tier(score: 70, previous: nil) == .high)
        #expect(tiers.tier(score: 69.9, previous: nil) == .mid)
        #expect(tiers.tier(score: 39.9, previous: nil) == .low)
        #expect(tiers.tier(score: 71, previous: .mid) == .mid)
        #expect(tiers.tier(score: 72, previous: .mid) == .high)
        #expect(tiers.tier(score: 68, previous: .high) == .high)
        #expect(tiers.tier(score: 67.9, previous: .high) == .mid)
        #expect(tiers.tier(score: 38, previous: .mid) == .mid)
        #expect(tiers.tier(score: 37.9, previous: .mid) == .low)
        #expect(tiers.tier(score: 41.9, previous: .low) == .low)
        #expect(tiers.tier(score: 42, previous: .low) == .mid)
        #expect(tiers.tier(score: 80, previous: .low) == .high)
    }

    @Test func propensityPrior() {
        let propensity = Rules.defaults.leads.propensity
        #expect(propensity.estimate(accepted: 0, contacted: 0) == 0.1)
        #expect(propensity.estimate(accepted: 3, contacted: 30) == 0.1)
        #expect(propensity.estimate(accepted: 0, contacted: 15) == 0.04)  // below the 0.05 floor
    }
}
