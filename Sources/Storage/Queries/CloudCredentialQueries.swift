import Foundation
import GRDB

/// Cloud credential queries inside a transaction.
extension Transaction {
    /// The stored token of `provider`, if any.
    public func cloudCredential(provider: String) throws -> CloudCredential? {
        try CloudCredential.filter(Column(CloudCredential.CodingKeys.provider) == provider).fetchOne(db)
    }
}
