/// Where a sealed value lives: its table, its row and the ids that own it.
///
/// The context becomes the associated data of the cipher, so a ciphertext copied to
/// another row, or to a row of another owner, fails to open.
public struct SealContext: Sendable, Hashable, CustomStringConvertible {
    /// Table that holds the sealed column.
    public let table: String
    /// Id of the row.
    public let rowID: String
    /// Owning ids by column name, e.g. `["agent_id": ..., "agent_toolbelt_item_id": ...]`.
    public let owners: [String: String]

    public init(table: String, rowID: String, owners: [String: String] = [:]) {
        self.table = table
        self.rowID = rowID
        self.owners = owners
    }

    /// Names the row without any secret, for reports and errors.
    public var description: String { "\(table)/\(rowID)" }

    /// The associated data for a value sealed under `keyVersion` (docs/vault-format.md).
    func associatedData(keyVersion: UInt32) -> [UInt8] {
        var fields = [SealedBlob.aadLabel, String(SealedBlob.formatVersion), table, rowID]
        fields += owners.keys.sorted().map { "\($0)=\(owners[$0]!)" }
        fields.append("key=\(keyVersion)")
        return Netstring.encode(fields)
    }
}

/// Length-prefixed encoding (`<length>:<bytes>,`) that makes associated data unambiguous.
enum Netstring {
    static func encode(_ fields: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for field in fields {
            let bytes = Array(field.utf8)
            out += Array("\(bytes.count):".utf8)
            out += bytes
            out.append(UInt8(ascii: ","))
        }
        return out
    }
}
