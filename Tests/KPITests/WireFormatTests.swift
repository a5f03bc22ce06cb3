import Foundation
import Models
import Testing

@testable import KPI

/// The hand-written encodings read back as what was written.
@Suite("KPI wire formats")
struct WireFormatTests {
    @Test func partialMessageJSONDecodesToTheSameMessage() throws {
        var counters = KPICounters()
        counters[.offered] = 12
        counters[.sentimentMicros] = -250_000
        counters.tallies["mention:weibo|own|negative"] = 3
        counters.tallies["campaign:双11 \"quoted\"|neutral"] = 1
        let message = PartialMessage(
            type: "partial",
            source: 3,
            partitions: 4,
            size: .hour,
            start: 1_795_593_600_000,
            end: 1_795_597_200_000,
            final: true,
            cells: [PartialCell(dimension: .queue, value: "vip \"a\\b\"", counters: counters)],
            closed: nil
        )
        let decoded = try JSONDecoder().decode(PartialMessage.self, from: Data(message.json))
        #expect(decoded == message)
        let watermark = PartialMessage(
            type: "watermark",
            source: 0,
            partitions: 4,
            size: nil,
            start: nil,
            end: nil,
            final: nil,
            cells: nil,
            closed: ["minute": -5, "day": .max]
        )
        #expect(try JSONDecoder().decode(PartialMessage.self, from: Data(watermark.json)) == watermark)
    }

    @Test func customerStateRoundTripsThroughItsCompactForm() throws {
        let state = CustomerState(tier: "high", recent: ["billing": [[1, 2], [3, 4]], "a;b=c,d:e 话费": [[-5, 6]]])
        let json = try JSONEncoder().encode(state)
        #expect(try JSONDecoder().decode(CustomerState.self, from: json) == state)
        let empty = CustomerState()
        #expect(try JSONDecoder().decode(CustomerState.self, from: try JSONEncoder().encode(empty)) == empty)
    }
}
