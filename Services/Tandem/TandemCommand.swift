import ArgumentParser

@main
struct TandemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract:
            "Tandem: the demo, the embedded broker, topic creation, the traffic simulator, dead letters, benchmarks.",
        subcommands: [
            DemoCommand.self, DevBrokerCommand.self, TopicsCommand.self, SimulateCommand.self,
            DeadLettersCommand.self, BenchCommand.self, ProbeCommand.self,
        ]
    )
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Benchmarks on the embedded broker; each takes --json and then prints one JSON object as its last line.",
        subcommands: [
            KafkaBenchCommand.self, KitBenchCommand.self, IntakeBenchCommand.self, SegmentationBenchCommand.self,
            KPIBenchCommand.self, LeadsBenchCommand.self, PipelineBenchCommand.self,
        ]
    )
}
