import Foundation
import Services
import ToolboxAgent
import ToolboxProtocol

/// Carries tool calls to local toolboxes: the in-process DTMA runs them with a ``ToolCallRunner`` and redeems
/// their tickets at the backend's hand-out service directly (the same rules as the HTTP endpoint droplets use).
struct LocalToolCalls: ToolCallCarrier {
    let handouts: CredentialHandout

    func carry(_ call: ToolCall, toolboxID: UUID) async throws(ToolCallError) -> ToolAnswer {
        let runner = ToolCallRunner { [handouts] ticket throws(ToolCallError) in
            let grant: CredentialHandout.Grant
            do {
                grant = try await handouts.redeem(ticket, localToolbox: toolboxID)
            } catch let error as ServiceError {
                throw ToolCallError(error.code == .forbidden ? .denied : .unavailable, error.reason ?? error.code.description, error.message)
            } catch {
                throw ToolCallError(.unavailable, "handout_failed", "the credential hand-out failed; the log has the details")
            }
            return CredentialGrant(
                agentID: grant.binding.agentID, instanceID: grant.binding.instanceID, capability: grant.binding.capability,
                requestID: grant.binding.requestID, credentialID: grant.credentialID,
                secret: grant.secret.withUnsafeBytes { SecretBytes(copying: $0) })
        }
        return try await runner.run(call)
    }
}
