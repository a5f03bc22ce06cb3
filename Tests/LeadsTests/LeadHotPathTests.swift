import Foundation
import Leads
import Models
import Testing

/// What the fast paths of the lead engine must keep exactly: the ids and the numbers in texts.
@Suite("Lead engine: ids and number formatting")
struct LeadHotPathTests {
    /// Ids computed by the first implementation (the hash over arrays of bytes): a replay after an
    /// upgrade must find the same ids.
    @Test func idsAreThoseOfTheFirstImplementation() {
        #expect(
            LeadEngine.leadId(customerId: "C-42", type: .planFit, productId: "PR-55", trigger: "e-42-1")
                == "ld-de856b30dbaced4f06d6a2c0fe047028"
        )
        #expect(
            LeadEngine.suppressionId(customerId: "C-42", type: .planFit, productId: "PR-55", trigger: "e-42-1")
                == "sp-de856b30dbaced4f06d6a2c0fe047028"
        )
        #expect(
            LeadEngine.leadId(customerId: "客户", type: .crossSell, productId: "", trigger: "bill:客户:2026-03")
                == "ld-d238e1a227700b432acfdfc4077e8710"
        )
        #expect(
            LeadEngine.suppressionId(customerId: "", type: .retention, productId: "P1", trigger: "segment:x:3")
                == "sp-0ebaab0308f103fc19ec5f2514d6e2eb"
        )
    }

    /// `decimal` writes what `String(format:)` writes: ties (exact binary halves such as 0.125,
    /// near-ties such as 1.005), negatives, huge and non-finite values, and many random ones.
    @Test func decimalsAreFoundationsFormat() {
        var values: [Double] = [
            0, -0.0, 0.005, 0.015, 0.125, 0.375, 0.625, 0.875, 1.005, 2.675, 1.115, 0.0005, 0.0015, 0.1235, 92, 92.5,
            0.1 + 0.2, 12.345, 999_999.995, 999_999.994_9, 1e6, 1e6 + 0.005, 1e15, 1e300, -1.5, -0.001, .infinity,
            -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.049_999_999_999_999_996,
        ]
        var state: UInt64 = 0x5EED
        for _ in 0..<100_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let cents = Double(state >> 40 % 2_000_000)
            switch state % 4 {
            case 0: values.append(cents / 1000)  // many exact and near ties
            case 1: values.append(cents / 8)
            case 2: values.append(Double(bitPattern: state >> 2))
            default: values.append(Double(state >> 11) / Double(1 << 53) * 1000)
            }
        }
        var mismatches: [String] = []
        for value in values {
            for places in [2, 3] {
                let fast = LeadEngine.decimal(value, places: places)
                let reference = String(format: "%.\(places)f", value)
                if fast != reference, mismatches.count < 10 { mismatches.append("\(value): \(fast) ≠ \(reference)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}
