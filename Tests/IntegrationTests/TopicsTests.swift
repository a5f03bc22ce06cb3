import Models
import Testing

@Suite struct PlaceholderTopics {
    @Test func topicsAreUnique() { #expect(Set(Topics.all.map(\.name)).count == Topics.all.count) }
}
