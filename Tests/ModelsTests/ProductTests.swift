import Foundation
import Models
import Testing

@Suite("Product")
struct ProductTests {
    private func product() -> Product {
        Product(productId: "P-1", name: "基础套餐", family: "plan", monthlyFee: 59, availableFrom: utc(2026, 1, 1))
    }

    @Test func decodesTheFixture() throws {
        let decoded = try TandemJSON.decode(Product.self, from: try fixture("product"))
        let expected = Product(
            productId: "P-99",
            name: "畅享 99 套餐",
            family: "plan",
            monthlyFee: 99,
            allowances: ["voiceMinutes": 500, "dataMB": 30_720],
            overage: ["voiceMinutes": 0.15, "dataMB": 0.029],
            availableFrom: utc(2026, 1, 1),
            availableUntil: utc(2027, 1, 1),
            script: "{{name}}您好，{{productName}}每月可为您节省{{saving}}元。"
        )
        #expect(decoded == expected)
        #expect(decoded.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(decoded) == decoded)
    }

    @Test func mapsDefaultToEmptyAndAreAlwaysWritten() throws {
        let decoded = try TandemJSON.decode(
            Product.self,
            from:
                #"{"productId":"p","name":"n","family":"addon","monthlyFee":5,"availableFrom":"2026-01-01T00:00:00Z"}"#
        )
        #expect(decoded.allowances.isEmpty && decoded.overage.isEmpty && decoded.script == nil)
        let object = try jsonObject(decoded)
        #expect(
            Set(object.keys) == ["productId", "name", "family", "monthlyFee", "allowances", "overage", "availableFrom"]
        )
    }

    @Test func availability() {
        var p = product()
        p.availableUntil = utc(2026, 7, 1)
        #expect(!p.isAvailable(at: utc(2025, 12, 31, 23, 59, 59)))
        #expect(p.isAvailable(at: utc(2026, 1, 1)))
        #expect(p.isAvailable(at: utc(2026, 6, 30, 23, 59, 59)))
        #expect(!p.isAvailable(at: utc(2026, 7, 1)))
    }

    @Test func requiredStringsAreNotEmpty() {
        var p = product()
        p.productId = ""
        p.name = ""
        p.family = ""
        #expect(rules(p.validationErrors(now: now)) == ["productId:required", "name:required", "family:required"])
    }

    @Test func monthlyFeeNotNegative() {
        var p = product()
        p.monthlyFee = -1
        #expect(rules(p.validationErrors(now: now)) == ["monthlyFee:range"])
        p.monthlyFee = 0
        #expect(p.validationErrors(now: now).isEmpty)
    }

    @Test func allowancesAndOverageNotNegative() {
        var p = product()
        p.allowances = ["dataMB": -100]
        p.overage = ["voiceMinutes": -0.1, "dataMB": 0.03]
        #expect(rules(p.validationErrors(now: now)) == ["allowances.dataMB:range", "overage.voiceMinutes:range"])
    }

    @Test func availableUntilAfterAvailableFrom() {
        var p = product()
        p.availableUntil = utc(2026, 1, 1)  // equal is not after
        #expect(rules(p.validationErrors(now: now)) == ["availableUntil:order"])
        p.availableUntil = utc(2025, 6, 1)
        #expect(rules(p.validationErrors(now: now)) == ["availableUntil:order"])
        p.availableUntil = utc(2026, 1, 1, 0, 0, 0, ms: 1)
        #expect(p.validationErrors(now: now).isEmpty)
    }
}
