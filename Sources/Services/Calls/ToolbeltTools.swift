import Foundation
import JSONSchema
import Storage

/// One capability of an agent's toolbelt under the name MCP clients see: `<instance name>.<capability>` (the
/// instance name gets `-<first 8 of the item id>` when two items of the agent share it), stable as long as the item
/// exists.
public struct ToolbeltTool: Sendable, Equatable {
    public let name: String
    public let description: String
    /// The capability's input schema from the catalog, or an open object.
    public let inputSchema: JSONValue
    public let itemID: UUID
    public let capability: String
    /// Whether the agent may call it now, by the rule of a call (``CredentialHandout/check``).
    public let callable: Bool
    /// Whether the tool is itself an MCP server, whose `tools/call` result is relayed as it is.
    public let speaksMCP: Bool
}

extension ToolCallService {
    /// Every capability of the agent's toolbelt items, each marked callable or not by the same check a call and a
    /// credential hand-out make: listing and calling can never disagree.
    public func toolbeltTools(by principal: Principal) async throws -> [ToolbeltTool] {
        guard case .agent(let agent) = principal else {
            throw ServiceError(.forbidden, "only an agent, with its agent token, lists the tools it may call", reason: "agent_token_required")
        }
        return try await database.snapshot { tx in
            var items: [AgentToolbeltItem] = []
            var page = PageRequest(limit: PageRequest.maximumLimit)
            while true {
                let batch = try tx.agentToolbeltItems(agentID: agent.id, isActive: nil, instanceID: nil, page: page)
                items += batch.items
                guard batch.items.count == page.limit else { break }
                page.offset += page.limit
            }
            var instances: [UUID: AccountToolInstance] = [:]
            for item in items { instances[item.id] = try tx.fetch(AccountToolInstance.self, id: item.accountToolInstanceID) }
            let names = items.compactMap { instances[$0.id]?.instanceNameOnToolbox }
            let shared = Set(names.filter { name in names.filter { $0 == name }.count > 1 })
            var tools: [ToolbeltTool] = []
            for item in items {
                guard let instance = instances[item.id], let toolbox = try tx.fetch(AccountToolEnvironment.self, id: instance.accountToolEnvironmentID)
                else { continue }
                let tool = try ToolbeltService.tool(of: item, in: tx)
                guard case .object(let map)? = try? JSONValue(parsing: tool.requiredCapabilitiesSchema) else { continue }
                let prefix = shared.contains(instance.instanceNameOnToolbox)
                    ? "\(instance.instanceNameOnToolbox)-\(item.id.text.prefix(8))" : instance.instanceNameOnToolbox
                for capability in map.keys.sorted() {
                    var summary = ""
                    var schema: JSONValue = .object(["type": "object"])
                    switch map[capability] {
                    case .string(let text)?: summary = text
                    case .object(let fields)?:
                        if case .string(let text)? = fields["description"] { summary = text }
                        if let input = fields["input_schema"] { schema = input }
                    default: break
                    }
                    let binding = CallTickets.Binding(agentID: agent.id, instanceID: instance.id, capability: capability, requestID: "list")
                    let callable = (try? CredentialHandout.check(binding, toolbox: toolbox, in: tx)) != nil
                    tools.append(
                        ToolbeltTool(
                            name: "\(prefix).\(capability)", description: "\(summary) (\(tool.name) on toolbox \(toolbox.name))",
                            inputSchema: schema, itemID: item.id, capability: capability, callable: callable,
                            speaksMCP: tool.protocol == .mcp))
                }
            }
            return tools
        }
    }
}
