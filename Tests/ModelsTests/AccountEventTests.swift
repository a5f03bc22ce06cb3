import Foundation
import Models
import Testing

@Suite("AccountEvent")
struct AccountEventTests {
    @Test func decodesAProfile() throws {
        let event = try TandemJSON.decode(AccountEvent.self, from: try fixture("account-profile"))
        let expected = AccountEvent.profile(
            .init(
                customerId: "C-10086",
                at: utc(2026, 11, 1),
                region: "310000",
                joinedAt: utc(2015, 3, 8, 9, 15),
                creditScore: 87,
                influence: 12.5,
                points: 52_000,
                marketingConsent: false,
                planId: "P-199"
            )
        )
        #expect(event == expected)
        #expect(event.type == .profile)
        #expect(event.customerId == "C-10086")
        #expect(event.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(event) == event)
    }

    @Test func decodesABill() throws {
        let event = try TandemJSON.decode(AccountEvent.self, from: try fixture("account-bill"))
        let expected = AccountEvent.bill(
            .init(
                customerId: "C-10086",
                at: utc(2026, 11, 1, 2, 0, 0, ms: 500),
                period: "2026-10",
                amount: 199.9,
                usage: ["voiceMinutes": 312, "dataMB": 20_480.5, "roamingMinutes": 0, "intlMinutes": 10]
            )
        )
        #expect(event == expected)
        #expect(event.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(event) == event)
    }

    @Test func decodesAPurchaseWhateverTheKeyOrder() throws {
        let event = try TandemJSON.decode(AccountEvent.self, from: try fixture("account-purchase"))
        let expected = AccountEvent.purchase(
            .init(customerId: "C-10086", at: utc(2026, 11, 11, 0, 0, 5, ms: 1), amount: 0, productId: "ADDON-ROAM-7D")
        )
        #expect(event == expected)
        #expect(try roundTrip(event) == event)
    }

    @Test func encodesFlatWithTheDiscriminator() throws {
        let bill = AccountEvent.bill(.init(customerId: "c", at: utc(2026, 11, 1), period: "2026-10", amount: 50))
        #expect(
            try TandemJSON.encodeString(bill)
                == #"{"amount":50,"at":"2026-11-01T00:00:00.000Z","customerId":"c","period":"2026-10","type":"bill","usage":{}}"#
        )
        let profile = AccountEvent.profile(.init(customerId: "c", at: utc(2026, 11, 1)))
        #expect(Set(try jsonObject(profile).keys) == ["type", "customerId", "at"])
    }

    @Test func aBillWithoutUsageHasNone() throws {
        let event = try TandemJSON.decode(
            AccountEvent.self,
            from: #"{"type":"bill","customerId":"c","at":"2026-11-01T00:00:00Z","period":"2026-10","amount":1}"#
        )
        guard case .bill(let bill) = event else {
            Issue.record("expected a bill")
            return
        }
        #expect(bill.usage.isEmpty)
    }

    @Test func anUnknownTypeNamesTheTypeField() {
        guard
            case .decoding(let field, let message) = decodingError(
                AccountEvent.self,
                #"{"type":"refund","customerId":"c","at":"2026-11-01T00:00:00Z"}"#
            )
        else {
            Issue.record("expected a decoding error")
            return
        }
        #expect(field == "type")
        #expect(message.contains("refund"))
    }

    @Test func aMissingTypeIsADecodingError() {
        #expect(
            decodingError(AccountEvent.self, #"{"customerId":"c","at":"2026-11-01T00:00:00Z"}"#)
                == .decoding(field: "type", message: "required field is missing")
        )
    }

    @Test func aBillWithoutPeriodNamesIt() {
        #expect(
            decodingError(
                AccountEvent.self,
                #"{"type":"bill","customerId":"c","at":"2026-11-01T00:00:00Z","amount":1}"#
            )
                == .decoding(field: "period", message: "required field is missing")
        )
    }

    // MARK: - Rules

    private func profile(creditScore: Double? = nil, influence: Double? = nil, points: Int? = nil) -> AccountEvent {
        .profile(.init(customerId: "c", at: now, creditScore: creditScore, influence: influence, points: points))
    }

    private func bill(period: String = "2026-10", amount: Double = 10, usage: [String: Double] = [:]) -> AccountEvent {
        .bill(.init(customerId: "c", at: now, period: period, amount: amount, usage: usage))
    }

    @Test func customerIdIsRequired() {
        let event = AccountEvent.purchase(.init(customerId: "", at: now, amount: 1, productId: "p"))
        #expect(rules(event.validationErrors(now: now)) == ["customerId:required"])
    }

    @Test func creditScoreZeroToHundred() {
        #expect(rules(profile(creditScore: -1).validationErrors(now: now)) == ["creditScore:range"])
        #expect(rules(profile(creditScore: 100.5).validationErrors(now: now)) == ["creditScore:range"])
        #expect(profile(creditScore: 0).validationErrors(now: now).isEmpty)
        #expect(profile(creditScore: 100).validationErrors(now: now).isEmpty)
    }

    @Test func influenceZeroToHundred() {
        #expect(rules(profile(influence: 101).validationErrors(now: now)) == ["influence:range"])
        #expect(rules(profile(influence: -0.1).validationErrors(now: now)) == ["influence:range"])
    }

    @Test func pointsNotNegative() {
        #expect(rules(profile(points: -5).validationErrors(now: now)) == ["points:range"])
    }

    @Test(arguments: ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "2026-10-01", "２０２６-10", "", "abcd-ef"])
    func billPeriodIsYearAndMonth(period: String) {
        #expect(rules(bill(period: period).validationErrors(now: now)) == ["period:format"])
    }

    @Test func validBillPeriods() {
        #expect(bill(period: "2026-01").validationErrors(now: now).isEmpty)
        #expect(bill(period: "2026-12").validationErrors(now: now).isEmpty)
    }

    @Test func billAmountNotNegative() {
        #expect(rules(bill(amount: -0.01).validationErrors(now: now)) == ["amount:range"])
        #expect(bill(amount: 0).validationErrors(now: now).isEmpty)
    }

    @Test func billUsageNotNegative() {
        #expect(
            rules(bill(usage: ["dataMB": -1, "voiceMinutes": 3]).validationErrors(now: now)) == ["usage.dataMB:range"]
        )
    }

    @Test func purchaseAmountNotNegativeAndProductRequired() {
        let event = AccountEvent.purchase(.init(customerId: "c", at: now, amount: -9, productId: ""))
        #expect(rules(event.validationErrors(now: now)) == ["amount:range", "productId:required"])
    }
}
