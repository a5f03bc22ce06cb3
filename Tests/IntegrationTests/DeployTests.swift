import Foundation
import Testing

/// The container and Kubernetes files, checked offline by `scripts/check_deploy.py`: the Compose
/// Specification's JSON Schema (bundled by `check-jsonschema`), the Kubernetes schemas (bundled by
/// `kubernetes-validate`, strict), and cross-checks with the code — binaries, ports, health paths,
/// environment variables, `tandem topics create` flags, metric names, the rules file.
@Suite("deployment files", .timeLimit(.minutes(2)))
struct DeployTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs the checker on deployment folders (each holding docker-compose.yml and deploy/).
    static func check(_ folders: [URL]) throws -> (status: Int32, output: String) {
        let script = root.appendingPathComponent("scripts/check_deploy.py").path
        var arguments = ["python3", script, "--code", root.path, "--tandem", try tandemBinary().path]
        for folder in folders { arguments += ["--deploy", folder.path] }
        return try run("/usr/bin/env", arguments)
    }

    @Test func composeAndManifestsAreValidAndMatchTheCode() throws {
        let (status, output) = try Self.check([Self.root])
        #expect(status == 0, "\(output)")
        #expect(output.contains("docker-compose.yml valid (Compose Specification)"), "\(output)")
        #expect(output.contains("Kubernetes objects valid (strict"), "\(output)")
    }

    /// One deliberate mistake in a copy of the files, and what the checker must say about it.
    struct Breakage: Sendable {
        var name: String
        var file: String
        var old: String
        var new: String
        var expected: String
    }

    static let breakages: [Breakage] = [
        // Compose: the specification's schema, then each cross-check.
        .init(
            name: "compose-schema",
            file: "docker-compose.yml",
            old: "stop_grace_period: 15s",
            new: "stop_grace_periods: 15s",
            expected: "Compose Specification: services/"
        ),
        .init(
            name: "compose-port",
            file: "docker-compose.yml",
            old: "TANDEM_HTTP_PORT: \"8082\"",
            new: "TANDEM_HTTP_PORT: \"9082\"",
            expected: "port 9082 is not tandem-segmentation's port 8082"
        ),
        .init(
            name: "compose-health-path",
            file: "docker-compose.yml",
            old: "GET /health/ready",
            new: "GET /health/readyz",
            expected: "/health/readyz, which the service does not serve"
        ),
        .init(
            name: "compose-variable",
            file: "docker-compose.yml",
            old: "TANDEM_LOG_LEVEL: \"info\"",
            new: "TANDEM_LOGLEVEL: \"info\"",
            expected: "TANDEM_LOGLEVEL is read nowhere in the code"
        ),
        .init(
            name: "compose-binary",
            file: "docker-compose.yml",
            old: "command: [\"tandem-leads\"]",
            new: "command: [\"tandem-lead\"]",
            expected: "command tandem-lead is not an executable product of Package.swift"
        ),
        .init(
            name: "compose-topics-flag",
            file: "docker-compose.yml",
            old: "\"--replication-factor\", \"1\"",
            new: "\"--replication\", \"1\"",
            expected: "`tandem topics create` has no option --replication"
        ),
        .init(
            name: "compose-restart",
            file: "docker-compose.yml",
            old: "  restart: unless-stopped\n  depends_on:",
            new: "  depends_on:",
            expected: "has no restart policy"
        ),
        .init(
            name: "compose-depends-on",
            file: "docker-compose.yml",
            old: "condition: service_completed_successfully",
            new: "condition: service_started",
            expected: "does not wait for the topics job"
        ),
        .init(
            name: "compose-brokers",
            file: "docker-compose.yml",
            old: "KAFKA_BROKERS: \"kafka:9092\"\n  TANDEM_RULES",
            new: "KAFKA_BROKERS: \"kafka:9093\"\n  TANDEM_RULES",
            expected: "KAFKA_BROKERS kafka:9093 is no listener Kafka advertises"
        ),
        .init(
            name: "compose-kraft",
            file: "docker-compose.yml",
            old: "KAFKA_PROCESS_ROLES: \"broker,controller\"",
            new: "KAFKA_PROCESS_ROLES: \"broker\"",
            expected: "not in KRaft mode"
        ),
        .init(
            name: "prometheus-target",
            file: "deploy/prometheus/prometheus.yml",
            old: "tandem-kpi:8084",
            new: "tandem-kpi:9084",
            expected: "does not scrape tandem-kpi:8084"
        ),
        .init(
            name: "grafana-metric",
            file: "deploy/grafana/dashboards/tandem.json",
            old: "tandem_consumer_lag",
            new: "tandem_consumer_lags",
            expected: "metric tandem_consumer_lags is not created anywhere in the code"
        ),
        .init(
            name: "grafana-datasource",
            file: "deploy/grafana/dashboards/tandem.json",
            old: "\"uid\": \"prometheus\"",
            new: "\"uid\": \"prom\"",
            expected: "data source uid prom is not provisioned"
        ),
        // Dockerfile.
        .init(
            name: "dockerfile-binaries",
            file: "deploy/Dockerfile",
            old: "tandem-leads tandem-kpi; do",
            new: "tandem-leads; do",
            expected: "copies binaries"
        ),
        .init(
            name: "dockerfile-user",
            file: "deploy/Dockerfile",
            old: "USER 10001:10001",
            new: "USER root",
            expected: "does not switch to a non-root USER"
        ),
        // Kubernetes: the schemas, then each cross-check.
        .init(
            name: "k8s-schema",
            file: "deploy/k8s/leads.yaml",
            old: "terminationGracePeriodSeconds: 30",
            new: "terminationGracePeriod: 30",
            expected: "Deployment/tandem-leads: Kubernetes 1.29.0 schema"
        ),
        .init(
            name: "k8s-image",
            file: "deploy/k8s/kpi.yaml",
            old: "image: tandem:latest",
            new: "image: tandem-kpi:latest",
            expected: "image tandem-kpi:latest is not the tandem image"
        ),
        .init(
            name: "k8s-probe-path",
            file: "deploy/k8s/segmentation.yaml",
            old: "path: /health/live",
            new: "path: /healthz",
            expected: "livenessProbe asks /healthz"
        ),
        .init(
            name: "k8s-port",
            file: "deploy/k8s/kpi.yaml",
            old: "containerPort: 8084",
            new: "containerPort: 8085",
            expected: "does not declare containerPort 8084"
        ),
        .init(
            name: "k8s-grace",
            file: "deploy/k8s/intake.yaml",
            old: "terminationGracePeriodSeconds: 30",
            new: "terminationGracePeriodSeconds: 10",
            expected: "terminationGracePeriodSeconds 10 < 15"
        ),
        .init(
            name: "k8s-read-only",
            file: "deploy/k8s/leads.yaml",
            old: "readOnlyRootFilesystem: true",
            new: "readOnlyRootFilesystem: false",
            expected: "the root filesystem is not read-only"
        ),
        .init(
            name: "k8s-pdb",
            file: "deploy/k8s/leads.yaml",
            old: "maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: tandem-leads",
            new: "maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: tandem-lead",
            expected: "Deployment/tandem-leads has no PodDisruptionBudget"
        ),
        .init(
            name: "k8s-kafka-variable",
            file: "deploy/k8s/secrets.yaml",
            old: "KAFKA_SASL_USERNAME:",
            new: "KAFKA_SASL_USER:",
            expected: "KAFKA_SASL_USER names no librdkafka property (sasl.user)"
        ),
        .init(
            name: "k8s-job-reference",
            file: "deploy/k8s/topics-job.yaml",
            old: "$(KAFKA_SSL_CA_LOCATION)",
            new: "$(KAFKA_SSL_CA)",
            expected: "$(KAFKA_SSL_CA) in the command is not an environment variable"
        ),
        .init(
            name: "k8s-rules-path",
            file: "deploy/k8s/config.yaml",
            old: "/etc/tandem/rules/tandem-rules.yaml",
            new: "/etc/tandem/tandem-rules.yml",
            expected: "TANDEM_RULES=/etc/tandem/tandem-rules.yml is not a file of a mounted ConfigMap"
        ),
        .init(
            name: "k8s-rules-drift",
            file: "deploy/k8s/rules-configmap.yaml",
            old: "billCount: 3",
            new: "billCount: 4",
            expected: "the rules ConfigMap differs from rules/tandem-rules.yaml"
        ),
        .init(
            name: "k8s-kustomization",
            file: "deploy/k8s/kustomization.yaml",
            old: "  - kpi.yaml\n",
            new: "",
            expected: "deploy/k8s/kustomization.yaml: resources"
        ),
    ]

    /// Each breakage in its own copy; one checker run over all copies (the schemas load once).
    @Test func everyCheckRejectsADeliberatelyBrokenCopy() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-deploy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        func copy(_ name: String) throws -> URL {
            let folder = base.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for item in ["docker-compose.yml", "deploy", "rules"] {
                try FileManager.default.copyItem(
                    at: Self.root.appendingPathComponent(item),
                    to: folder.appendingPathComponent(item)
                )
            }
            return folder
        }
        // An intact copy passes: whatever the broken copies are blamed for comes from their breakage.
        var folders = [try copy("intact")]
        for breakage in Self.breakages {
            let folder = try copy(breakage.name)
            let file = folder.appendingPathComponent(breakage.file)
            let text = try String(contentsOf: file, encoding: .utf8)
            let range = try #require(
                text.range(of: breakage.old),
                "\(breakage.name): '\(breakage.old)' not in \(breakage.file)"
            )
            try text.replacingCharacters(in: range, with: breakage.new).write(
                to: file,
                atomically: true,
                encoding: .utf8
            )
            folders.append(folder)
        }
        let (status, output) = try Self.check(folders)
        #expect(status == 1)
        let lines = output.split(separator: "\n").map(String.init)
        let intact = lines.filter { $0.hasPrefix("[intact] ") }
        #expect(intact.count == 1 && intact[0].contains("deploy: docker-compose.yml valid"), "\(intact)")
        for breakage in Self.breakages {
            let said = lines.filter { $0.hasPrefix("[\(breakage.name)] ") }
            #expect(
                said.contains { $0.contains(breakage.expected) },
                "\(breakage.name): expected '\(breakage.expected)', the checker said:\n\(said.joined(separator: "\n"))"
            )
            #expect(!said.contains { $0.contains("deploy: docker-compose.yml valid") }, "\(breakage.name) passed")
        }
    }
}
