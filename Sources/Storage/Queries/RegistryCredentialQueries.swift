import Foundation
import GRDB

/// Registry credential queries inside a transaction.
extension Transaction {
    /// The credential for a registry host, if one is stored.
    public func registryCredential(registry: String) throws -> RegistryCredential? {
        try RegistryCredential.filter(Column(RegistryCredential.CodingKeys.registry) == registry).fetchOne(db)
    }

    /// Every stored registry credential, by registry.
    public func registryCredentials() throws -> [RegistryCredential] {
        try RegistryCredential.order(Column(RegistryCredential.CodingKeys.registry)).fetchAll(db)
    }
}
