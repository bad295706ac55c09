/// The version of this build, printed by `agentbox version` and `/healthz`.
enum AgentboxVersion {
    static let current = "0.1.0"
}
