extension Rules {
    /// The built-in rules, for a mainland-China telecom or bank service center; amounts in CNY.
    ///
    /// `rules/tandem-rules.yaml` spells out every value with the reason for it (and a test keeps
    /// the two equal).
    public static let defaults = Rules(
        segmentation: Segmentation(
            arpu: .init(billCount: 3),
            rfm: .init(
                windowDays: 365,
                recencyMaxDays: [35, 65, 100, 180],
                frequencyMinCount: [4, 10, 14, 20],
                monetaryMinAmount: [300, 720, 1500, 3600],
                segments: [
                    .init("champions", "Champions", recency: 5...5, frequency: 4...5, monetary: 3...5),
                    .init("loyal", "Loyal", recency: 3...5, frequency: 4...5, monetary: 1...5),
                    .init(
                        "potential_loyalist",
                        "Potential Loyalist",
                        recency: 4...5,
                        frequency: 2...3,
                        monetary: 1...5
                    ),
                    .init("new", "New", recency: 5...5, frequency: 1...1, monetary: 1...5),
                    .init("promising", "Promising", recency: 4...4, frequency: 1...1, monetary: 1...5),
                    .init("need_attention", "Need Attention", recency: 3...3, frequency: 3...3, monetary: 1...5),
                    .init("about_to_sleep", "About to Sleep", recency: 3...3, frequency: 1...2, monetary: 1...5),
                    .init("cant_lose", "Can't Lose", recency: 1...2, frequency: 4...5, monetary: 4...5),
                    .init("at_risk", "At Risk", recency: 1...2, frequency: 3...5, monetary: 1...5),
                    .init("hibernating", "Hibernating", recency: 2...2, frequency: 1...2, monetary: 1...5),
                    .init("lost", "Lost", recency: 1...1, frequency: 1...2, monetary: 1...5),
                ]
            ),
            value: .init(
                weights: .init(arpu: 50, credit: 20, influence: 15, tenure: 15),
                arpuForFullPoints: 300,
                tenureYearsForFullPoints: 10
            ),
            regions: .init(
                classes: ["tier1": 1.3, "tier2": 1.15, "tier3": 1.0, "county": 0.85, "rural": 0.7],
                defaultClass: "tier3",
                codes: defaultRegionCodes
            ),
            tiers: .init(highMinScore: 70, midMinScore: 40, hysteresisPoints: 2),
            servicePolicy: .init(
                high: .init(queue: "vip", dedicatedAccountManager: true, priority: 1, crossRegionService: true),
                mid: .init(queue: "priority", dedicatedAccountManager: false, priority: 2, crossRegionService: false),
                low: .init(queue: "standard", dedicatedAccountManager: false, priority: 3, crossRegionService: false)
            ),
            activity: .init(activeMaxDays: 30, coolingMaxDays: 90),
            churnRisk: .init(
                windowDays: 30,
                highSignals: ["churn_threat"],
                mediumSignals: ["competitor_mention", "wants_cheaper_plan", "price_complaint"],
                highComplaints: 3,
                mediumComplaints: 1,
                whenCooling: .medium,
                whenInactive: .high
            ),
            tags: .init(
                tenureYears: [
                    .init(name: "under_1y", atLeast: 0),
                    .init(name: "1_to_3y", atLeast: 1),
                    .init(name: "3_to_5y", atLeast: 3),
                    .init(name: "5_to_10y", atLeast: 5),
                    .init(name: "10y_plus", atLeast: 10),
                ],
                monthlySpend: [
                    .init(name: "budget", atLeast: 0),
                    .init(name: "mainstream", atLeast: 50),
                    .init(name: "upper", atLeast: 100),
                    .init(name: "premium", atLeast: 200),
                    .init(name: "top", atLeast: 400),
                ],
                loyaltyPoints: [
                    .init(name: "none", atLeast: 0),
                    .init(name: "bronze", atLeast: 500),
                    .init(name: "silver", atLeast: 2000),
                    .init(name: "gold", atLeast: 5000),
                    .init(name: "platinum", atLeast: 10000),
                ],
                productsHeld: [
                    .init(name: "none", atLeast: 0),
                    .init(name: "single", atLeast: 1),
                    .init(name: "dual", atLeast: 2),
                    .init(name: "multi", atLeast: 3),
                ]
            )
        ),
        leads: Leads(
            planFit: .init(minSavingPercent: 10, usageBillCount: 3),
            retention: .init(waitForProductDays: 30),
            crossSell: .init(minCsat: 4, minSentiment: 0.3),
            winBack: .init(minTier: .mid),
            contact: .init(
                pauseSentimentBelow: -0.3,
                escalationBlockDays: 30,
                capWindowDays: 30,
                caps: .init(high: 3, mid: 2, low: 1),
                decline: .init(
                    anyLeadBlockDays: 14,
                    sameTypeBlockDays: 90,
                    repeatCount: 2,
                    repeatWindowDays: 90,
                    repeatBlockDays: 180
                )
            ),
            leadTtlDays: 14,
            propensity: .init(floor: 0.05, priorAccepted: 1, priorContacted: 10),
            riskLevel: .init(
                complaintWindowDays: 30,
                highCreditBelow: 40,
                mediumCreditBelow: 60,
                highComplaints: 2,
                mediumComplaints: 1
            )
        ),
        kpi: KPI(
            timeZone: "Asia/Shanghai",
            windows: .init(
                minute: .init(graceSeconds: 300, updateThrottleSeconds: 10),
                hour: .init(graceSeconds: 3600, updateThrottleSeconds: 60),
                day: .init(graceSeconds: 172_800, updateThrottleSeconds: 300)
            ),
            shortAbandonSeconds: 5,
            serviceLevelSeconds: 20,
            repeatContactDays: 7,
            topTopics: 10,
            opinion: .init(neutralBand: 0.2, topNegativeTopics: 5),
            alerts: .init(factor: 3, minimumCount: 10, trailingHours: 24)
        ),
        eventTime: EventTime(idleTimeoutSeconds: 30)
    )

    /// Mainland administrative-division codes (GB/T 2260) → region class. Cities by the usual
    /// tier rankings; whole provinces where per-capita disposable income or urbanisation is among
    /// the lowest (NBS), with their capitals kept at `tier3`. Every other code is `tier3`.
    static let defaultRegionCodes: [String: String] = [
        // tier1: Beijing, Shanghai, Guangzhou, Shenzhen.
        "110000": "tier1", "310000": "tier1", "440100": "tier1", "440300": "tier1",
        // tier2: the "new first-tier" cities.
        "510100": "tier2",  // Chengdu
        "500000": "tier2",  // Chongqing
        "330100": "tier2",  // Hangzhou
        "420100": "tier2",  // Wuhan
        "320500": "tier2",  // Suzhou
        "610100": "tier2",  // Xi'an
        "320100": "tier2",  // Nanjing
        "430100": "tier2",  // Changsha
        "120000": "tier2",  // Tianjin
        "410100": "tier2",  // Zhengzhou
        "441900": "tier2",  // Dongguan
        "320200": "tier2",  // Wuxi
        "330200": "tier2",  // Ningbo
        "370200": "tier2",  // Qingdao
        "340100": "tier2",  // Hefei
        // county: the rest of Gansu, Guizhou, Yunnan, Qinghai, Xinjiang; their capitals stay tier3.
        "620000": "county", "620100": "tier3",  // Gansu, Lanzhou
        "520000": "county", "520100": "tier3",  // Guizhou, Guiyang
        "530000": "county", "530100": "tier3",  // Yunnan, Kunming
        "630000": "county", "630100": "tier3",  // Qinghai, Xining
        "650000": "county", "650100": "tier3",  // Xinjiang, Ürümqi
        // rural: the rest of Tibet; Lhasa stays tier3.
        "540000": "rural", "540100": "tier3",  // Tibet, Lhasa
    ]
}

extension Rules.Segmentation.Segment {
    init(
        _ id: String,
        _ name: String,
        recency: ClosedRange<Int>,
        frequency: ClosedRange<Int>,
        monetary: ClosedRange<Int>
    ) {
        self.init(id: id, name: name, recency: .init(recency), frequency: .init(frequency), monetary: .init(monetary))
    }
}

extension Rules.Segmentation.ScoreRange {
    init(_ range: ClosedRange<Int>) {
        self.init(min: range.lowerBound, max: range.upperBound)
    }
}
