import Foundation
import Kafka
import Leads
import Models
import ServiceKit
import Testing

/// Drives ``LeadsProcessor`` directly, record by record, as the processing loop does.
final class Harness {
    let processor: LeadsProcessor
    var offsets: [String: Int64] = [:]
    var leads: [Lead] = []
    var suppressions: [LeadSuppression] = []
    var failures: [ProcessingFailure] = []

    init(products: [Product] = []) {
        processor = LeadsProcessor(configuration: ServiceConfiguration(service: "leads"), rules: .defaults)
        for product in products { processor.catalog.apply(product) }
        processor.catalog.markRestored()
        processor.partitionsAssigned([0])
    }

    /// Processes the inputs on partition 0 (catalog records go to the table as the feed would).
    func run(_ inputs: [Input], offset: Int64? = nil) {
        for input in inputs {
            if input.topic == "cs.catalog" {
                input.value!.withUnsafeBytes { bytes in
                    if case .success(let product) = CatalogTable.validate(
                        key: input.key,
                        value: bytes,
                        decoder: TandemJSON.decoder()
                    ) {
                        processor.catalog.apply(product)
                    }
                }
                tick()
                continue
            }
            let next = offset ?? offsets[input.topic, default: 0]
            offsets[input.topic] = next + 1
            var output = ProcessorOutput()
            let key = input.key.map { Array($0.utf8) }
            let result: Result<Void, ProcessingFailure> = withOptional(key) { key in
                withOptional(input.value) { value in
                    do throws(ProcessingFailure) {
                        try processor.process(
                            InputRecord(
                                topic: input.topic,
                                partition: 0,
                                offset: next,
                                timestamp: nil,
                                key: key,
                                value: value
                            ),
                            into: &output
                        )
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }
            }
            if case .failure(let failure) = result { failures.append(failure) }
            collect(output)
        }
    }

    func tick() {
        var output = ProcessorOutput()
        processor.tick(wallNow: 0, into: &output)
        collect(output)
    }

    private func collect(_ output: ProcessorOutput) {
        for record in output.records {
            if record.topic == "cs.leads" {
                leads.append(try! TandemJSON.decode(Lead.self, from: record.value!))
            } else if record.topic == "cs.lead-suppressions" {
                suppressions.append(try! TandemJSON.decode(LeadSuppression.self, from: record.value!))
            }
        }
    }
}

func withOptional<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

let standardPlans = [Fixtures.p150, Fixtures.p88, Fixtures.p58, Fixtures.p38]

@Suite("Leads processor without Kafka")
struct LeadsProcessorTests {
    @Test("a customer on P150 whose usage fits P58 gets one plan_fit lead after the third bill")
    func overpaying() throws {
        let harness = Harness(products: standardPlans)
        harness.run([Records.profile("c1", at: -90, consent: true), Records.segment("c1", at: -90)])
        harness.run(Records.bills("c1"))
        // A billing contact 3 days later: the same lead is still open.
        harness.run([Records.contact("c1", "e1", at: 3, topic: "billing")])
        #expect(harness.failures.isEmpty)
        #expect(harness.leads.count == 1)
        let lead = try #require(harness.leads.first)
        #expect(lead.type == .planFit && lead.productId == "P58" && lead.estimatedMonthlySaving == 92)
        #expect(lead.triggerEventId == "bill:c1:2026-03")
        #expect(harness.suppressions.map(\.reason) == [.duplicateOpen])
    }

    @Test("bad input: unknown lead, bill without usage, bad JSON, wrong key, invalid products")
    func badInput() throws {
        let harness = Harness(products: standardPlans)
        harness.run([Records.outcome("c1", lead: "ld-nope", at: 0, .accepted)])
        let bill = AccountEvent.bill(.init(customerId: "c1", at: date(0), period: "2026-03", amount: 10))
        harness.run([("cs.accounts", "c1", try TandemJSON.encode(bill))])
        harness.run([("cs.interactions", "c1", Array("{not json".utf8))])
        var wrongKey = Records.profile("c1", at: 0, consent: true)
        wrongKey.key = "c2"
        harness.run([wrongKey])
        harness.run([("cs.segments", "c1", nil)])
        #expect(
            harness.failures.map(\.reason) == [
                "unknown_lead", "no_usage", "invalid_json", "key_mismatch", "invalid_json",
            ]
        )
        #expect(harness.leads.isEmpty)

        let decoder = TandemJSON.decoder()
        func check(_ product: Product, key: String? = nil) -> String? {
            let bytes = try! TandemJSON.encode(product)
            return bytes.withUnsafeBytes {
                if case .failure(let failure) = CatalogTable.validate(
                    key: key ?? product.productId,
                    value: $0,
                    decoder: decoder
                ) {
                    return failure.reason + ": " + failure.message
                }
                return nil
            }
        }
        var negative = Fixtures.p58
        negative.monthlyFee = -1
        #expect(check(negative)?.hasPrefix("invalid_product") == true)
        var negativeOverage = Fixtures.p58
        negativeOverage.overage["dataMB"] = -0.1
        #expect(check(negativeOverage)?.hasPrefix("invalid_product") == true)
        var malformed = Fixtures.p58
        malformed.script = "Hi {{name"
        #expect(check(malformed)?.contains("malformed script") == true)
        #expect(check(Fixtures.p58, key: "other")?.hasPrefix("key_mismatch") == true)
        #expect(check(Fixtures.p58) == nil)
    }

    @Test("a replayed record (offset already applied) publishes nothing")
    func replay() {
        let harness = Harness(products: standardPlans)
        harness.run([Records.profile("c1", at: -90, consent: true)])
        harness.run(Records.bills("c1"))
        #expect(harness.leads.count == 1)
        harness.offsets["cs.accounts"] = 1
        harness.run(Records.bills("c1"))
        #expect(harness.leads.count == 1)
        #expect(harness.processor.replayed == 3)
    }

    @Test("outcomes teach propensity per (type, tier); the high tier goes to the account manager")
    func outcomes() throws {
        let harness = Harness(products: standardPlans + [Fixtures.roaming])
        harness.run([Records.profile("c1", at: -90, consent: true), Records.segment("c1", at: -90, tier: .high)])
        harness.run(Records.bills("c1"))
        let lead = try #require(harness.leads.first)
        #expect(lead.propensity == 0.1)
        harness.run([Records.outcome("c1", lead: lead.leadId, at: 2, .contacted)])
        harness.run([Records.outcome("c1", lead: lead.leadId, at: 3, .accepted)])
        #expect(harness.failures.isEmpty)
        // Another high-tier customer's plan_fit now: (1 + 1) / (1 + 10).
        harness.run([Records.profile("c2", at: -90, consent: true), Records.segment("c2", at: -90, tier: .high)])
        harness.run(Records.bills("c2"))
        #expect(harness.leads.count == 2)
        #expect(abs(harness.leads[1].propensity - 2.0 / 11.0) < 1e-12)
        #expect(harness.leads[1].followUp.assignee == .accountManager)
    }
}
