import Foundation
import Models
import Testing

@Suite("the AsyncAPI contract")
struct AsyncAPITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// asyncapi.yaml is valid AsyncAPI 3.0 (checked by the `asyncapi3` package's strict model of the
    /// specification), its schema references resolve, and every topic of `Topics.all` is a channel.
    @Test func asyncAPIDocumentIsValidAndCoversEveryTopic() throws {
        let script = Self.root.appendingPathComponent("scripts/check_asyncapi.py").path
        let document = Self.root.appendingPathComponent("asyncapi.yaml").path
        let (status, output) = try run("/usr/bin/env", ["python3", script, document] + Topics.all.map(\.name))
        #expect(status == 0, "\(output)")
        #expect(output.contains("valid AsyncAPI 3.0"))
    }

    @Test func theCheckerRejectsATopicMissingFromTheDocument() throws {
        let script = Self.root.appendingPathComponent("scripts/check_asyncapi.py").path
        let document = Self.root.appendingPathComponent("asyncapi.yaml").path
        let (status, output) = try run("/usr/bin/env", ["python3", script, document, "cs.not-a-topic"])
        #expect(status == 1)
        #expect(output.contains("cs.not-a-topic"))
    }
}
