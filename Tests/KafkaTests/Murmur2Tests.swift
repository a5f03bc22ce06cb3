import Kafka
import Testing

@Suite("murmur2 partitioning")
struct Murmur2Tests {
    /// The Java client's own test vectors (Kafka's `UtilsTest.testMurmur2`).
    @Test(arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
    ])
    func javaVectors(key: String, expected: Int32) {
        #expect(Murmur2.hash(Array(key.utf8)) == expected)
    }

    @Test func partitionClearsTheSignBit() {
        // hash("21") = -973932308; & 0x7fffffff = 1173551340; % 12 = 0
        #expect(Murmur2.partition(forKey: Array("21".utf8), partitionCount: 12) == 1_173_551_340 % 12)
        #expect(
            Murmur2.partition(forKey: Array("foobar".utf8), partitionCount: 7) == (Int32(-790_332_482) & 0x7fff_ffff)
                % 7
        )
    }

    /// librdkafka's default partitioner here (`murmur2_random`) must put every key where the Java client would.
    @Test func librdkafkaAgreesWithJava() async throws {
        let cluster = TestCluster.shared
        let topic = uniqueName("murmur")
        try cluster.createTopic(topic, partitions: 12)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        let reports = try await produce(producer, topic: topic, count: 500, keys: 500)
        for (index, report) in reports.enumerated() {
            #expect(report.partition == Murmur2.partition(forKey: Array("key-\(index)".utf8), partitionCount: 12))
        }
        await producer.close()
    }
}
