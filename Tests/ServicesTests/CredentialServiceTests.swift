import Foundation
import JSONSchema
import Services
import Storage
import TestSupport
import Testing

/// Credentials: checked against the tool's secrets schema, sealed for their row, shown back only masked,
/// one active per item, and moved only as the status machine allows.
struct CredentialServiceTests {
    private let page = PageRequest()

    @Test func aCredentialIsSealedForItsRowAndOnlyAMaskedIdentifierIsKept() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let canary = "canary-\(UUID().uuidString)"
        let credential = try await bed.plane.credentials.create(
            itemID: item.id, type: "api_key", credentials: ["api_key": .string(canary), "account": "user@gmail.com"],
            accountIdentifier: "user@gmail.com", by: bed.ada)
        #expect(credential.status == .active && credential.credentialType == "api_key" && credential.agentToolbeltItemID == item.id)
        #expect(credential.accountIdentifier == "user@gm***.com")
        #expect(credential.lastValidatedAt == nil)

        let stored = try #require(try await bed.database.fetchAgentToolCredential(id: credential.id))
        #expect(stored.encryptedCredentials.range(of: Data(canary.utf8)) == nil, "the row holds no plain text")
        let opened = try await bed.test.credentials.open(credentialID: credential.id)
        #expect(opened.text == #"{"account":"user@gmail.com","api_key":"\#(canary)"}"#, "the sealed value is the canonical JSON of the object")

        let record = try #require(try await bed.audit(of: credential.id).last)
        #expect(record.action == "credential.create")
        #expect(!record.detailJSON.contains(canary) && !record.detailJSON.contains("user@"))
    }

    @Test func aSealedValueCopiedToAnotherCredentialDoesNotOpen() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let (_, other) = try await bed.belted("eve", owner: bed.ada)
        let first = try await bed.plane.credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "first-secret"], accountIdentifier: nil, by: bed.ada)
        var second = try await bed.plane.credentials.create(itemID: other.id, type: "api_key", credentials: ["api_key": "second-secret"], accountIdentifier: nil, by: bed.ada)
        second.encryptedCredentials = try #require(try await bed.database.fetchAgentToolCredential(id: first.id)).encryptedCredentials
        try await bed.database.update(second)
        await #expect(throws: (any Error).self) { _ = try await bed.test.credentials.open(credentialID: second.id) }
    }

    @Test func credentialsThatBreakTheSecretsSchemaAreRefusedByPointerWithoutTheirValues() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let canary = "canary-\(UUID().uuidString)"
        let before = try await bed.auditCount()
        let refused = await ToolbeltTestBed.failure {
            _ = try await bed.plane.credentials.create(
                itemID: item.id, type: "api_key", credentials: ["api_key": "short", "account": .string(canary), "extra": .string(canary)],
                accountIdentifier: nil, by: bed.ada)
        }
        let error = try #require(refused)
        #expect(error.code == .unprocessable)
        #expect(error.message.contains("/api_key") && error.message.contains("minLength"))
        #expect(error.message.contains("/account") && error.message.contains("format"))
        #expect(error.message.contains("additionalProperties"))
        #expect(!error.message.contains(canary) && !error.message.contains("short"), "values are never echoed")
        let missing = await ToolbeltTestBed.failure {
            _ = try await bed.plane.credentials.create(itemID: item.id, type: "api_key", credentials: [:], accountIdentifier: nil, by: bed.ada)
        }
        #expect(missing?.code == .unprocessable && missing?.message.contains("api_key") == true)
        #expect(try await bed.database.fetchAgentToolCredentials(agentToolbeltItemID: item.id).isEmpty)
        #expect(try await bed.auditCount() == before)
    }

    @Test func malformedFieldsAreInvalidRequests() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let credentials = bed.plane.credentials
        let cases: [(String, String, JSONValue, String?)] = [
            ("not an object", "api_key", .array(["abcdefgh-1"]), nil),
            ("a string", "api_key", .string("abcdefgh-1"), nil),
            ("empty type", "", ["api_key": "abcdefgh-1"], nil),
            ("type with spaces", "api key", ["api_key": "abcdefgh-1"], nil),
            ("type too long", String(repeating: "a", count: 65), ["api_key": "abcdefgh-1"], nil),
            ("identifier too long", "api_key", ["api_key": "abcdefgh-1"], String(repeating: "a", count: 255)),
            ("identifier with control characters", "api_key", ["api_key": "abcdefgh-1"], "a\u{7}b"),
        ]
        for (name, type, secret, identifier) in cases {
            let error = await ToolbeltTestBed.failure {
                _ = try await credentials.create(itemID: item.id, type: type, credentials: secret, accountIdentifier: identifier, by: bed.ada)
            }
            #expect(error?.code == .invalidRequest, "\(name)")
        }
        #expect(try await bed.database.fetchAgentToolCredentials(agentToolbeltItemID: item.id).isEmpty)
    }

    @Test func aNewCredentialRevokesTheItemsEarlierOnesInTheSameChange() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let credentials = bed.plane.credentials
        let first = try await credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "first-secret"], accountIdentifier: nil, by: bed.ada)
        let second = try await credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "second-secret"], accountIdentifier: nil, by: bed.ada)
        _ = try await credentials.setStatus(second.id, .requiresReauth, by: bed.ada)
        let third = try await credentials.create(itemID: item.id, type: "oauth2", credentials: ["api_key": "third-secret"], accountIdentifier: "bob", by: bed.ada)
        #expect(third.accountIdentifier == "b***")

        #expect(try await credentials.get(first.id, by: bed.ada).status == .revoked)
        #expect(try await credentials.get(second.id, by: bed.ada).status == .revoked)
        #expect(try await credentials.list(itemID: item.id, status: .active, page: page, by: bed.ada).items.map(\.id) == [third.id])
        #expect(try await credentials.list(itemID: item.id, status: nil, page: page, by: bed.ada).items.map(\.id) == [first.id, second.id, third.id])
        #expect(try await credentials.list(itemID: item.id, status: .revoked, page: page, by: bed.ada).total == 2)

        let superseded = try #require(try await bed.audit(of: second.id).last)
        #expect(superseded.action == "credential.revoke")
        #expect(superseded.detailJSON.contains("superseded") && superseded.detailJSON.contains(third.id.uuidString.lowercased()))
        #expect(superseded.detailJSON.contains(#""from":"requires_reauth""#))
    }

    @Test func theStatusMachineAllowsOnlyItsTransitions() {
        let allowed: Set<String> = [
            "active>requires_reauth", "active>error", "active>revoked",
            "requires_reauth>active", "requires_reauth>error", "requires_reauth>revoked",
            "error>active", "error>revoked",
        ]
        for from in CredentialStatus.allCases {
            for to in CredentialStatus.allCases {
                let expected = from == to || allowed.contains("\(from.rawValue)>\(to.rawValue)")
                #expect(CredentialStatusMachine.allows(from: from, to: to) == expected, "\(from.rawValue) -> \(to.rawValue)")
            }
        }
        #expect(CredentialStatusMachine.transitions[.revoked]?.isEmpty == true, "revoked is final")
    }

    @Test func statusChangesFollowTheMachineAreAuditedAndKeepOneActiveCredential() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let credentials = bed.plane.credentials
        let credential = try await credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "a-secret-1"], accountIdentifier: nil, by: bed.ada)
        for status in [CredentialStatus.requiresReauth, .active, .error, .active] {
            #expect(try await credentials.setStatus(credential.id, status, by: bed.ada).status == status)
        }
        let count = try await bed.auditCount()
        #expect(try await credentials.setStatus(credential.id, .active, by: bed.ada).status == .active, "the current status is a no-op")
        #expect(try await bed.auditCount() == count)
        #expect(try await bed.audit(of: credential.id).map(\.action) == ["credential.create"] + Array(repeating: "credential.status", count: 4))

        _ = try await credentials.setStatus(credential.id, .revoked, by: bed.ada)
        let final = await ToolbeltTestBed.failure { _ = try await credentials.setStatus(credential.id, .active, by: bed.ada) }
        #expect(final?.code == .invalidState)
        #expect(final?.message.contains("from revoked to active") == true)
        #expect(try await credentials.get(credential.id, by: bed.ada).status == .revoked)

        // An older credential cannot be re-activated while a newer one is active.
        let newer = try await credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "a-secret-2"], accountIdentifier: nil, by: bed.ada)
        let newest = try await credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "a-secret-3"], accountIdentifier: nil, by: bed.ada)
        #expect(try await credentials.get(newer.id, by: bed.ada).status == .revoked)
        _ = try await credentials.setStatus(newest.id, .error, by: bed.ada)
        let third = try await credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "a-secret-4"], accountIdentifier: nil, by: bed.ada)
        #expect(try await credentials.get(newest.id, by: bed.ada).status == .revoked, "error credentials are superseded too")
        _ = third
    }

    @Test func reactivatingACredentialWhileAnotherIsActiveIsAConflict() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let credentials = bed.plane.credentials
        let first = try await credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "a-secret-1"], accountIdentifier: nil, by: bed.ada)
        _ = try await credentials.setStatus(first.id, .error, by: bed.ada)
        // Put a second active credential beside it directly, as a hand-out refresh might.
        let second = try await bed.test.credentials.store(Array(#"{"api_key":"a-secret-2"}"#.utf8), type: "api_key", accountIdentifier: nil, forItem: item.id)
        let clash = await ToolbeltTestBed.failure { _ = try await credentials.setStatus(first.id, .active, by: bed.ada) }
        #expect(clash?.code == .conflict)
        #expect(clash?.message.contains(second.id.uuidString.lowercased()) == true)
        #expect(try await credentials.get(first.id, by: bed.ada).status == .error)
    }

    @Test func anotherUsersCredentialIsNotFoundAndUnchanged() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let credentials = bed.plane.credentials
        let credential = try await credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "a-secret-1"], accountIdentifier: nil, by: bed.ada)
        let bob = bed.bob
        let attempts: [(String, () async throws -> Void)] = [
            ("get", { _ = try await credentials.get(credential.id, by: bob) }),
            ("list", { _ = try await credentials.list(itemID: item.id, status: nil, page: page, by: bob) }),
            ("create", { _ = try await credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "stolen-1"], accountIdentifier: nil, by: bob) }),
            ("status", { _ = try await credentials.setStatus(credential.id, .revoked, by: bob) }),
            ("delete", { try await credentials.delete(credential.id, by: bob) }),
        ]
        let missing = await ToolbeltTestBed.failure { _ = try await credentials.get(UUID(), by: bob) }
        for (name, attempt) in attempts {
            let error = await ToolbeltTestBed.failure(attempt)
            #expect(error?.code == .notFound, "\(name)")
        }
        #expect(missing?.code == .notFound)
        #expect(try await bed.database.fetchAgentToolCredential(id: credential.id) == credential)
        #expect(try await bed.database.fetchAgentToolCredentials(agentToolbeltItemID: item.id).count == 1)
        #expect(await ToolbeltTestBed.failure { _ = try await credentials.get(credential.id, by: .agent(try await bed.database.fetchAgent(id: item.agentID)!)) }?.code == .forbidden)
    }

    @Test func deletingACredentialRemovesItsRowAndIsAudited() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let credential = try await bed.plane.credentials.create(itemID: item.id, type: "api_key", credentials: ["api_key": "a-secret-1"], accountIdentifier: nil, by: bed.ada)
        try await bed.plane.credentials.delete(credential.id, by: bed.admin)
        #expect(try await bed.database.fetchAgentToolCredential(id: credential.id) == nil)
        #expect(try await bed.audit(of: credential.id).last?.action == "credential.delete")
        #expect(await ToolbeltTestBed.failure { try await bed.plane.credentials.delete(credential.id, by: bed.ada) }?.code == .notFound)
    }

    @Test func accountIdentifiersAreMasked() throws {
        let cases: [(String?, String?)] = [
            ("user@gmail.com", "user@gm***.com"),
            ("alexander@example.org", "alex***@ex***.org"),
            ("bob@x.io", "bob@x***.io"),
            ("root@localhost", "root@lo***"),
            ("+15551234567", "+1***67"),
            ("bob", "b***"),
            ("  padded@example.com  ", "padd***@ex***.com"),
            ("", nil),
            ("   ", nil),
            (nil, nil),
        ]
        for (input, expected) in cases {
            #expect(try AccountIdentifierMask.mask(input) == expected, "\(input ?? "nil")")
        }
        #expect(throws: ServiceError.self) { try AccountIdentifierMask.mask(String(repeating: "a", count: 255)) }
    }
}
