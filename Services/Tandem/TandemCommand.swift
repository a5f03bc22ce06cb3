import ArgumentParser

@main
struct TandemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Tandem developer tools: the embedded broker, topics, benchmarks.",
        subcommands: []
    )
}
