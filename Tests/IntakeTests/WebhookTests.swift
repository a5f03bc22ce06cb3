import Intake
import ServiceKit
import Testing

@Suite("webhook, without Kafka")
struct WebhookTests {
    @Test func aJSONBodyIsOneRecordWhateverItsLines() {
        let body = Array("{\n  \"eventId\": \"e\"\n}\n".utf8)
        let records = IntakeWebhook.split(body, contentType: "application/json; charset=utf-8")
        #expect(records.map(\.line) == [1])
        #expect(records.map(\.range) == [0..<body.count])
        #expect(IntakeWebhook.split(Array(" \n ".utf8), contentType: "application/json").isEmpty)
    }

    @Test func ndjsonIsOneRecordPerNonBlankLineWithItsLineNumber() {
        let text = "{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}"
        let body = Array(text.utf8)
        let records = IntakeWebhook.split(body, contentType: "application/x-ndjson")
        #expect(records.map(\.line) == [1, 4, 5])
        #expect(
            records.map { String(decoding: body[$0.range], as: UTF8.self) } == [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#]
        )
        // No content type: NDJSON too (a single-line JSON record is a one-line NDJSON body).
        #expect(IntakeWebhook.split(body, contentType: nil).count == 3)
        #expect(IntakeWebhook.split([], contentType: nil).isEmpty)
        #expect(IntakeWebhook.split(Array("\n\n".utf8), contentType: nil).isEmpty)
    }

    @Test func theAnswerStatusFollowsTheWorstResult() {
        typealias Result = WebhookAnswer.Result
        let ok = Result(line: 1, eventId: "e1", status: .accepted)
        let bad = Result(
            line: 2,
            eventId: nil,
            status: .rejected,
            reason: "invalid_json",
            error: "payload is not valid JSON"
        )
        let lost = Result(line: 3, eventId: "e3", status: .failed, reason: "broker")
        #expect(WebhookAnswer(results: [ok]).httpStatus == 202)
        #expect(WebhookAnswer(results: [ok, bad]).httpStatus == 400)
        #expect(WebhookAnswer(results: [ok, bad, lost]).httpStatus == 503)
        let answer = WebhookAnswer(results: [ok, bad, lost])
        #expect((answer.accepted, answer.rejected, answer.failed) == (1, 1, 1))
    }

    @Test func configurationFromTheEnvironment() throws {
        let off = try WebhookConfiguration.fromEnvironment([:])
        #expect(off.token == nil)
        #expect(off.maxBodyBytes == 4 * 1024 * 1024)
        let on = try WebhookConfiguration.fromEnvironment([
            "TANDEM_WEBHOOK_TOKEN": "abc", "TANDEM_WEBHOOK_MAX_BYTES": "1000",
        ])
        #expect(on.token == "abc")
        #expect(on.maxBodyBytes == 1000)
        for (name, value) in [
            ("TANDEM_WEBHOOK_TOKEN", ""), ("TANDEM_WEBHOOK_TOKEN", "a b"), ("TANDEM_WEBHOOK_MAX_BYTES", "0"),
            ("TANDEM_WEBHOOK_MAX_BYTES", "many"),
        ] {
            #expect(throws: ConfigurationError.self) { try WebhookConfiguration.fromEnvironment([name: value]) }
            do {
                _ = try WebhookConfiguration.fromEnvironment([name: value])
            } catch {
                #expect(error.key == name)
            }
        }
    }
}
