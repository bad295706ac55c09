import ArgumentParser
import ToolboxProtocol

/// `agentbox version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version of this agentbox.")

    func run() {
        print("agentbox \(AgentboxBuild.version)")
    }
}
