import Foundation

/// Measures the JSON codecs on one thread: decode a realistic raw interaction and encode an
/// interaction, with ``FastJSONDecoder``/``FastJSON`` and with Foundation (``TandemJSON``).
///
/// For `tandem bench kit`; it is not a test (timings on shared machines are noisy). Build in
/// release mode for meaningful figures.
public enum CodecBenchmark {
    /// A 400-odd-byte raw interaction, as a phone adapter publishes one.
    public static let sampleRawInteraction: [UInt8] = Array(
        """
        {"eventId":"cti-20261125-000123","occurredAt":"2026-11-25T16:30:00.123+08:00","channel":"phone",\
        "kind":"complaint","customerId":"C-10086","department":"after_sales","topic":"billing","queue":"vip",\
        "teamId":"T7","agentId":"A042","waitSeconds":42.5,"answered":true,"handleSeconds":310,"resolved":false,\
        "transfers":2,"sentiment":-0.75,"signals":["churn_threat","competitor_mention","interest:plan"],\
        "campaignId":"double11","text":"客户说：\\"套餐太贵了\\" 想换别家 a/b café",\
        "attributes":{"crmTicket":"TK-1","语言":"中文"}}
        """.utf8
    )

    /// The interaction the benchmark encodes (the sample, normalised).
    public static var sampleInteraction: Interaction {
        Interaction(
            eventId: "cti-20261125-000123",
            occurredAt: Timestamp.date(millisecondsSince1970: 1_795_595_400_123),
            receivedAt: Timestamp.date(millisecondsSince1970: 1_795_595_401_250),
            channel: .phone,
            kind: .complaint,
            customerId: "C-10086",
            department: .afterSales,
            topic: "billing",
            queue: "vip",
            teamId: "T7",
            agentId: "A042",
            waitSeconds: 42.5,
            answered: true,
            handleSeconds: 310,
            resolved: false,
            transfers: 2,
            sentiment: -0.75,
            signals: ["churn_threat", "competitor_mention", "interest:plan"],
            campaignId: "double11",
            text: "客户说：\"套餐太贵了\" 想换别家 a/b café",
            attributes: ["crmTicket": "TK-1", "语言": "中文"]
        )
    }

    /// Decodes ``sampleRawInteraction`` and encodes ``sampleInteraction`` `records` times with
    /// each codec (Foundation gets at most a fifth as many rounds, as it is slower; rates are per
    /// second either way).
    ///
    /// - Returns: decode+encode rounds per second for the fast path and for Foundation.
    public static func run(records: Int) -> (fastPerSecond: Double, foundationPerSecond: Double) {
        let records = max(records, 1)
        let interaction = sampleInteraction
        let payload = sampleRawInteraction
        let decoder = FastJSONDecoder()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1024)
        var sink = 0

        let fast = seconds {
            payload.withUnsafeBytes { bytes in
                for _ in 0..<records {
                    guard let raw = try? decoder.decodeRawInteraction(bytes) else { continue }
                    sink &+= raw.transfers ?? 0
                    buffer.removeAll(keepingCapacity: true)
                    try? FastJSON.encode(interaction, into: &buffer)
                    sink &+= buffer.count
                }
            }
        }
        let foundationRecords = max(records / 5, 1)
        let foundation = seconds {
            for _ in 0..<foundationRecords {
                guard let raw = try? TandemJSON.decode(RawInteraction.self, from: payload) else { continue }
                sink &+= raw.transfers ?? 0
                sink &+= (try? TandemJSON.encode(interaction))?.count ?? 0
            }
        }
        // Keeps the loops from being optimised away.
        if sink == 42 { print("", terminator: "") }
        return (Double(records) / fast, Double(foundationRecords) / foundation)
    }

    private static func seconds(_ body: () -> Void) -> Double {
        let duration = ContinuousClock().measure(body)
        let (seconds, attoseconds) = duration.components
        return max(Double(seconds) + Double(attoseconds) / 1e18, 1e-9)
    }
}
