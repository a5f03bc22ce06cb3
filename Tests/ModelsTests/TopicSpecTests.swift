import Models
import Testing

@Suite("topics")
struct TopicSpecTests {
    @Test func compactedTopicsAreTheSpecsOnes() {
        let compacted = Set(Topics.spec.filter(\.compacted).map(\.name))
        #expect(compacted == ["cs.catalog", "cs.segments", "cs.kpi", "cs.opinion-report"])
        #expect(Topics.changelogs.allSatisfy { $0.name.hasPrefix("cs.") && $0.isInternal })
        #expect(Set(Topics.changelogs.filter { !$0.compacted }.map(\.name)) == ["cs.intake.dedup"])
    }

    @Test func retentionIsInMilliseconds() {
        #expect(Topics.interactions.configs == ["cleanup.policy": "delete", "retention.ms": "604800000"])
        #expect(Topics.segments.configs == ["cleanup.policy": "compact"])
    }
}
