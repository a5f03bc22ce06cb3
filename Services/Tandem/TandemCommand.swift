import ArgumentParser

@main
struct TandemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Tandem developer tools: the embedded broker, topic creation, benchmarks.",
        subcommands: [DevBrokerCommand.self, TopicsCommand.self, BenchCommand.self, ProbeCommand.self]
    )
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Benchmarks on the embedded broker; each takes --json and then prints one JSON object as its last line.",
        subcommands: [
            KafkaBenchCommand.self, KitBenchCommand.self, IntakeBenchCommand.self, SegmentationBenchCommand.self,
            KPIBenchCommand.self, LeadsBenchCommand.self,
        ]
    )
}
