public import Foundation
public import Models

/// The simulated operator's product catalog: mobile plans, broadband, add-on packs, devices on
/// instalments and value-added services, priced like a mainland-China operator's (CNY).
///
/// Availability dates are relative to the simulation's start, so the same start gives the same
/// catalog: one plan is a campus offer that ends in four months, one a plan launched ten days
/// after the start (the leads service's retention path waits for such a product).
public enum SimulatedCatalog {
    /// The voice-minute, data and message metrics used in allowances, overage and bill usage.
    public static let metrics = ["voiceMinutes", "dataMB", "smsCount", "roamingMinutes", "intlMinutes"]

    /// The catalog for a simulation starting at `start`.
    public static func products(start: Date) -> [Product] {
        let launched = start.addingTimeInterval(-2 * 365 * 86_400)
        let day: TimeInterval = 86_400
        let planScript = "您好{{name}},按您近三个月的实际用量,改用{{productName}}每月可节省约{{saving}}元,权益不变,下月生效。"
        let crossScript = "您好{{name}},感谢您的认可!很多和您用量相近的客户选择了{{productName}},需要为您介绍一下吗?"
        func plan(
            _ id: String,
            _ name: String,
            fee: Double,
            voice: Double,
            dataGB: Double,
            sms: Double,
            roaming: Double = 0,
            intl: Double = 0,
            from: Date? = nil,
            until: Date? = nil
        ) -> Product {
            Product(
                productId: id,
                name: name,
                family: "plan",
                monthlyFee: fee,
                allowances: [
                    "voiceMinutes": voice, "dataMB": dataGB * 1024, "smsCount": sms, "roamingMinutes": roaming,
                    "intlMinutes": intl,
                ],
                // Mainland tariffs: 0.15 CNY a minute, 5 CNY a GB, 0.1 CNY a message, roaming and
                // international calls dearer on the cheap plans.
                overage: [
                    "voiceMinutes": fee >= 199 ? 0.1 : 0.15, "dataMB": fee >= 129 ? 0.003 : 0.005, "smsCount": 0.1,
                    "roamingMinutes": fee >= 199 ? 0.99 : 1.99, "intlMinutes": fee >= 199 ? 1.5 : 2.5,
                ],
                availableFrom: from ?? launched,
                availableUntil: until,
                script: planScript
            )
        }
        func product(
            _ id: String,
            _ name: String,
            family: String,
            fee: Double,
            allowances: [String: Double] = [:]
        ) -> Product {
            Product(
                productId: id,
                name: name,
                family: family,
                monthlyFee: fee,
                allowances: allowances,
                overage: [:],
                availableFrom: launched,
                script: crossScript
            )
        }
        return [
            plan("plan-senior-8", "孝心卡8元套餐", fee: 8, voice: 50, dataGB: 1, sms: 20),
            plan("plan-basic-19", "畅聊19元套餐", fee: 19, voice: 100, dataGB: 5, sms: 50),
            plan("plan-5g-39", "5G畅享39元套餐", fee: 39, voice: 100, dataGB: 20, sms: 50),
            plan("plan-5g-59", "5G畅享59元套餐", fee: 59, voice: 200, dataGB: 30, sms: 100),
            plan("plan-5g-99", "5G畅享99元套餐", fee: 99, voice: 500, dataGB: 60, sms: 100),
            plan("plan-5g-129", "5G尊享129元套餐", fee: 129, voice: 800, dataGB: 100, sms: 200),
            plan("plan-5g-199", "5G尊享199元套餐", fee: 199, voice: 1500, dataGB: 200, sms: 300, roaming: 100),
            plan(
                "plan-5g-299",
                "5G至尊299元套餐",
                fee: 299,
                voice: 3000,
                dataGB: 300,
                sms: 500,
                roaming: 300,
                intl: 100
            ),
            plan(
                "plan-campus-29",
                "青春校园29元卡",
                fee: 29,
                voice: 100,
                dataGB: 40,
                sms: 50,
                from: start.addingTimeInterval(-60 * day),
                until: start.addingTimeInterval(120 * day)
            ),
            plan(
                "plan-5g-79",
                "5G智享79元套餐(新)",
                fee: 79,
                voice: 400,
                dataGB: 50,
                sms: 100,
                from: start.addingTimeInterval(10 * day)
            ),
            product("bb-300m", "300M光纤宽带", family: "broadband", fee: 50),
            product("bb-1000m", "千兆光纤宽带", family: "broadband", fee: 100),
            product("addon-data-20g", "20GB流量加油包", family: "addon", fee: 20, allowances: ["dataMB": 20_480]),
            product("addon-voice-200", "200分钟语音包", family: "addon", fee: 10, allowances: ["voiceMinutes": 200]),
            product("addon-roam-asia", "亚洲漫游包", family: "addon", fee: 30, allowances: ["roamingMinutes": 100]),
            product("addon-video", "视频会员权益包", family: "addon", fee: 15),
            product("device-5g-phone", "5G手机(24期分期)", family: "device", fee: 125),
            product("device-wifi6", "Wi-Fi 6路由器(12期分期)", family: "device", fee: 15),
            product("device-watch", "儿童智能手表(12期分期)", family: "device", fee: 30),
            product("service-cloud-200g", "云盘200G", family: "service", fee: 10),
            product("service-family", "亲情网(最多5人)", family: "service", fee: 10),
            product("service-insurance", "手机碎屏险", family: "service", fee: 12),
        ]
    }

    /// What a purchase of the product costs up front (devices a down payment, others one month).
    static func purchasePrice(_ product: Product, random: inout SimulationRandom) -> Double {
        switch product.family {
        case "device": return random.pick([0, 99, 299, 999])
        case "broadband": return product.monthlyFee + 100  // installation
        default: return product.monthlyFee
        }
    }
}
