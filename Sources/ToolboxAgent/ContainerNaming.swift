import Foundation

/// How the DTMA marks the containers it owns: labels that name the toolbox, the instance and its version,
/// and a readable container name. Containers without ``toolbox`` or labelled for another toolbox are never touched.
public enum ContainerNaming {
    /// The toolbox (DTMA) that owns the container.
    public static let toolbox = "agentbox.toolbox"
    /// The tool instance the container runs.
    public static let instance = "agentbox.instance"
    /// The tool version the container was made for.
    public static let version = "agentbox.version"

    /// `agentbox-<instance name>-<first 8 characters of the instance id>`.
    public static func containerName(instanceName: String, instanceID: UUID) -> String {
        "agentbox-\(instanceName)-\(instanceID.uuidString.lowercased().prefix(8))"
    }

    /// The label value of an id: lower-case UUID text.
    public static func value(_ id: UUID) -> String { id.uuidString.lowercased() }
}
