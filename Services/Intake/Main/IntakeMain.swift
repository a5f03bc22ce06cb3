import Foundation
import Intake
import Kafka
import ServiceKit

/// `tandem-intake`: configuration from the environment (see ServiceConfiguration), health and
/// metrics on port 8081 by default, the webhook `POST /v1/interactions` on the same port when
/// `TANDEM_WEBHOOK_TOKEN` is set, graceful shutdown on SIGTERM/SIGINT.
@main
enum IntakeMain {
    static func main() async {
        // Intake's state is per partition: one processing thread per core by default.
        let code = await TandemService.main(
            name: "intake",
            defaultPort: 8081,
            defaultThreads: ProcessInfo.processInfo.activeProcessorCount,
            defaultMaxBatch: IntakeProcessor.defaultMaxBatch
        ) { configuration, rules in
            IntakeProcessor(configuration: configuration, rules: rules)
        } makeEndpoints: { configuration, _, environment, logger in
            let webhook = try WebhookConfiguration.fromEnvironment(environment)
            guard let token = webhook.token else { return [] }
            let producer = try KafkaProducer(configuration: configuration.producerConfiguration, logger: logger)
            return [
                IntakeWebhook(
                    configuration: configuration,
                    token: token,
                    maxBodyBytes: webhook.maxBodyBytes,
                    producer: producer,
                    logger: logger
                )
            ]
        }
        exit(code)
    }
}
