import Foundation
import GRDB

/// Queries of `AccountToolInstance` rows.
extension AppDatabase {
    /// Inserts a tool instance; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ accountToolInstance: AccountToolInstance) async throws -> AccountToolInstance {
        try await insertRecord(accountToolInstance)
    }

    /// The AccountToolInstance with this id, or nil.
    public func fetchAccountToolInstance(id: UUID) async throws -> AccountToolInstance? {
        try await fetchRecord(AccountToolInstance.self, key: id)
    }

    /// Saves every column of a tool instance; throws `.notFound` if it no longer exists.
    public func update(_ accountToolInstance: AccountToolInstance) async throws {
        try await updateRecord(accountToolInstance)
    }

    /// Deletes a tool instance (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteAccountToolInstance(id: UUID) async throws {
        try await deleteRecord(AccountToolInstance.self, key: id)
    }

    /// The tool instances on a toolbox, oldest first.
    public func fetchAccountToolInstances(accountToolEnvironmentID: UUID) async throws -> [AccountToolInstance] {
        try await fetchRecords(AccountToolInstance.self, where: AccountToolInstance.CodingKeys.accountToolEnvironmentID, is: accountToolEnvironmentID)
    }
}

/// Tool instance queries inside a transaction.
extension Transaction {
    /// A page of the instances on a toolbox by name, optionally in one status, of one catalog tool, with one name.
    public func accountToolInstances(
        accountToolEnvironmentID: UUID, status: InstanceStatus?, toolCatalogID: UUID?, name: String?, page: PageRequest
    ) throws -> Page<AccountToolInstance> {
        var request = Self.instances(onToolbox: accountToolEnvironmentID)
        if let status { request = request.filter(Column(AccountToolInstance.CodingKeys.statusOnToolbox) == status) }
        if let toolCatalogID { request = request.filter(Column(AccountToolInstance.CodingKeys.toolCatalogID) == toolCatalogID.storageText) }
        if let name { request = request.filter(Column(AccountToolInstance.CodingKeys.instanceNameOnToolbox) == name) }
        return try self.page(request, page)
    }

    /// Every instance on a toolbox, by name.
    public func accountToolInstances(accountToolEnvironmentID: UUID) throws -> [AccountToolInstance] {
        try Self.instances(onToolbox: accountToolEnvironmentID).fetchAll(db)
    }

    /// A page of the instances of one catalog tool, on any toolbox, by name.
    public func accountToolInstances(toolCatalogID: UUID, page: PageRequest) throws -> Page<AccountToolInstance> {
        let request = AccountToolInstance
            .filter(Column(AccountToolInstance.CodingKeys.toolCatalogID) == toolCatalogID.storageText)
            .order(Column(AccountToolInstance.CodingKeys.instanceNameOnToolbox), Column(AccountToolInstance.CodingKeys.id))
        return try self.page(request, page)
    }

    /// The instance on a toolbox with this name, other than `excluding`, if there is one.
    public func accountToolInstance(accountToolEnvironmentID: UUID, named name: String, excluding id: UUID? = nil) throws -> AccountToolInstance? {
        var request = AccountToolInstance
            .filter(Column(AccountToolInstance.CodingKeys.accountToolEnvironmentID) == accountToolEnvironmentID.storageText)
            .filter(Column(AccountToolInstance.CodingKeys.instanceNameOnToolbox) == name)
        if let id { request = request.filter(Column(AccountToolInstance.CodingKeys.id) != id.storageText) }
        return try request.fetchOne(db)
    }

    private static func instances(onToolbox id: UUID) -> QueryInterfaceRequest<AccountToolInstance> {
        AccountToolInstance
            .filter(Column(AccountToolInstance.CodingKeys.accountToolEnvironmentID) == id.storageText)
            .order(Column(AccountToolInstance.CodingKeys.instanceNameOnToolbox), Column(AccountToolInstance.CodingKeys.id))
    }
}
