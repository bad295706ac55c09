import Foundation

extension UUID {
    /// The id as the API and the audit log show it: lowercase.
    var text: String { uuidString.lowercased() }
}
