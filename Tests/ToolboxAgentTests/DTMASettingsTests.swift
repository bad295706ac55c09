import Foundation
import HTTPClient
import Testing
import ToolboxProtocol

@testable import ToolboxAgent

/// `agentbox dtma`'s settings from agent.conf's environment, its state folder and token file, and the small parts of
/// the link and loops that need no appliance: the hand-out's reading, error answers, the event buffer, the back-off.
struct DTMASettingsTests {
    let toolbox = UUID()
    let pin = "sha256//" + Data(repeating: 7, count: 32).base64EncodedString()

    func environment(_ changes: [String: String?] = [:]) -> [String: String] {
        var environment = [
            "AGENTBOX_APPLIANCE_URL": "https://agentbox.example.com:8420/",
            "AGENTBOX_APPLIANCE_PIN": pin,
            "AGENTBOX_TOOLBOX_ID": toolbox.uuidString.lowercased(),
            "AGENTBOX_ENROLLMENT_TOKEN_FILE": "/etc/agentbox/enrollment-token",
        ]
        for (name, value) in changes { environment[name] = value }
        return environment
    }

    func load(_ environment: [String: String], stateDirectory: String? = nil) throws(DTMAError) -> DTMASettings {
        try DTMASettings.load(environment: environment, stateDirectory: stateDirectory, dockerSocket: "/var/run/docker.sock")
    }

    func failure(_ environment: [String: String]) -> DTMAError? {
        do {
            _ = try load(environment)
            return nil
        } catch {
            return error
        }
    }

    @Test func agentConfIsReadAsTheDropletsUserDataWritesIt() throws {
        let settings = try load(environment())
        #expect(settings.applianceURL == "https://agentbox.example.com:8420")
        #expect(settings.pin == pin)
        #expect(settings.toolboxID == toolbox)
        #expect(settings.enrollmentTokenFile == "/etc/agentbox/enrollment-token")
        #expect(settings.stateDirectory == "/var/lib/agentbox-dtma")
        // An empty pin is a certificate signed by a CA.
        #expect(try load(environment(["AGENTBOX_APPLIANCE_PIN": ""])).pin == nil)
    }

    @Test func theStateFolderIsTheOptionElseSystemdsElseTheDefault() throws {
        #expect(try load(environment(["STATE_DIRECTORY": "/var/lib/agentbox-dtma-x"])).stateDirectory == "/var/lib/agentbox-dtma-x")
        #expect(try load(environment(["STATE_DIRECTORY": "/var/lib/x"]), stateDirectory: "/tmp/y").stateDirectory == "/tmp/y")
        #expect(failure(environment(["STATE_DIRECTORY": "relative"]))?.code == .settings)
    }

    @Test func plainHTTPIsOnlyForLoopback() throws {
        for url in ["http://127.0.0.1:8420", "http://127.8.9.10", "http://localhost:1", "http://[::1]:8420"] {
            #expect(try load(environment(["AGENTBOX_APPLIANCE_URL": url, "AGENTBOX_APPLIANCE_PIN": ""])).applianceURL == url, "\(url)")
        }
        for url in ["http://10.0.0.1:8420", "http://128.0.0.1", "http://127.0.0.1.example.com", "http://localhost.example.com"] {
            let error = failure(environment(["AGENTBOX_APPLIANCE_URL": url, "AGENTBOX_APPLIANCE_PIN": ""]))
            #expect(error?.code == .settings && error?.message.contains("AGENTBOX_APPLIANCE_URL") == true && error?.message.contains("https") == true, "\(url)")
        }
        #expect(failure(environment(["AGENTBOX_APPLIANCE_URL": "ftp://agentbox.example.com"]))?.code == .settings)
        #expect(failure(environment(["AGENTBOX_APPLIANCE_URL": "https://user:pw@agentbox.example.com"]))?.code == .settings)
        // A pin over plain http makes no sense: refused rather than ignored.
        #expect(failure(environment(["AGENTBOX_APPLIANCE_URL": "http://127.0.0.1:8420"]))?.message.contains("AGENTBOX_APPLIANCE_PIN") == true)
    }

    @Test func missingOrWrongSettingsNameTheirVariable() {
        #expect(failure(environment(["AGENTBOX_APPLIANCE_URL": nil]))?.message.hasPrefix("AGENTBOX_APPLIANCE_URL is not set") == true)
        #expect(failure(environment(["AGENTBOX_TOOLBOX_ID": nil]))?.message.hasPrefix("AGENTBOX_TOOLBOX_ID is not set") == true)
        #expect(failure(environment(["AGENTBOX_TOOLBOX_ID": "droplet-1"]))?.message.hasPrefix("AGENTBOX_TOOLBOX_ID is not a toolbox id") == true)
        #expect(failure(environment(["AGENTBOX_APPLIANCE_PIN": "abc"]))?.message.hasPrefix("AGENTBOX_APPLIANCE_PIN is not a key pin") == true)
        #expect(failure(environment(["AGENTBOX_APPLIANCE_PIN": "sha256//" + Data(count: 16).base64EncodedString()]))?.code == .settings)
        #expect(try! load(environment(["AGENTBOX_APPLIANCE_PIN": pin + ";" + pin])).pin == pin + ";" + pin)
    }

    @Test func tokensAreNeverTakenFromTheEnvironment() {
        let error = failure(environment(["AGENTBOX_ENROLLMENT_TOKEN": "abx_e_secret"]))
        #expect(error?.code == .settings)
        #expect(error?.message.contains("AGENTBOX_ENROLLMENT_TOKEN_FILE") == true)
        #expect(error?.message.contains("abx_e_secret") == false)
    }

    func temporarySettings() throws -> DTMASettings {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dtma-settings-\(UUID().uuidString)/state").path
        var settings = try load(environment(), stateDirectory: directory)
        settings.enrollmentTokenFile = (directory as NSString).deletingLastPathComponent + "/enrollment-token"
        return settings
    }

    @Test func theStateFolderIs0700AndTheToolboxTokenIsKept0600() throws {
        let settings = try temporarySettings()
        defer { try? FileManager.default.removeItem(atPath: (settings.stateDirectory as NSString).deletingLastPathComponent) }
        try settings.prepareStateDirectory()
        #expect(try FileManager.default.attributesOfItem(atPath: settings.stateDirectory)[.posixPermissions] as? Int == 0o700)
        #expect(try settings.storedToolboxToken() == nil)
        let saved = umask(0)  // even with a permissive umask
        defer { umask(saved) }
        try settings.storeToolboxToken("abx_t_0123456789abcdef")
        #expect(try FileManager.default.attributesOfItem(atPath: settings.tokenPath)[.posixPermissions] as? Int == 0o600)
        #expect(try settings.storedToolboxToken() == "abx_t_0123456789abcdef")
        #expect(try FileManager.default.contentsOfDirectory(atPath: settings.stateDirectory) == ["toolbox-token"], "no temporary file left")
        // Written again (atomically, over the old one): still 0600.
        try settings.storeToolboxToken("abx_t_other")
        #expect(try settings.storedToolboxToken() == "abx_t_other")
        #expect(try FileManager.default.attributesOfItem(atPath: settings.tokenPath)[.posixPermissions] as? Int == 0o600)
    }

    @Test func theEnrollmentTokenComesFromItsFile() throws {
        let settings = try temporarySettings()
        defer { try? FileManager.default.removeItem(atPath: (settings.stateDirectory as NSString).deletingLastPathComponent) }
        try settings.prepareStateDirectory()
        let file = try #require(settings.enrollmentTokenFile)
        #expect(throws: DTMAError.self) { try settings.enrollmentToken() }
        try "abx_e_token\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try settings.enrollmentToken() == "abx_e_token")
        try "".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: DTMAError.self) { try settings.enrollmentToken() }
        var unset = settings
        unset.enrollmentTokenFile = nil
        do {
            _ = try unset.enrollmentToken()
            Issue.record("no enrollment token file: an error")
        } catch {
            #expect(error.message.contains("AGENTBOX_ENROLLMENT_TOKEN_FILE"))
        }
    }
}

/// The link's reading of the appliance's answers, and the loops' buffer and back-off.
struct ApplianceLinkTests {
    @Test func aHandOutBecomesAGrantWithTheCredentialsObjectAsSecretBytes() throws {
        let agent = UUID()
        let instance = UUID()
        let credential = UUID()
        let body = """
            {"agent_id":"\(agent.uuidString.lowercased())","instance_id":"\(instance.uuidString.lowercased())","capability":"gmail_send",
             "request_id":"req-9","credential_id":"\(credential.uuidString.lowercased())","credential_type":"oauth2",
             "credentials":{"access_token":"canary-123"}}
            """
        let grant = try ApplianceLink.grant(Array(body.utf8))
        #expect(grant.agentID == agent && grant.instanceID == instance && grant.credentialID == credential)
        #expect(grant.capability == "gmail_send" && grant.requestID == "req-9")
        #expect(grant.secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } == #"{"access_token":"canary-123"}"#)
        // Credentials that are not an object, or a missing field: unavailable, and the message quotes nothing of the body.
        for bad in [#"{"credentials":"x"}"#, body.replacingOccurrences(of: "\"credentials\":{", with: "\"credentials\":[{").replacingOccurrences(of: "}}", with: "}]}")] {
            do {
                _ = try ApplianceLink.grant(Array(bad.utf8))
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.kind == .unavailable && !error.message.contains("canary"))
            }
        }
    }

    @Test func errorAnswersCarryTheAppliancesCodeAnd401IsUnauthorized() {
        let body = Array(#"{"error":{"code":"enrollment_token_used","message":"this enrollment token was used already","request_id":"r1"}}"#.utf8)
        let refused = ApplianceLink.failure(HTTPResponse(status: 401, headers: [:], body: body), "POST /api/v1/dtma/enroll")
        #expect(refused.code == .unauthorized && refused.applianceCode == "enrollment_token_used" && refused.status == 401)
        #expect(refused.message.contains("this enrollment token was used already"))
        let other = ApplianceLink.failure(HTTPResponse(status: 502, headers: [:], body: Array("<html>".utf8)), "GET /x")
        #expect(other.code == .refused && other.applianceCode == nil && other.message == "GET /x: the appliance answered HTTP 502")
    }

    @Test func theEventBufferKeepsTheNewestThousandInOrder() {
        let buffer = EventBuffer(limit: 1000)
        let instance = UUID()
        for index in 0..<1200 { buffer.add(ReportedEvent(instanceID: instance, kind: "pull", message: "\(index)")) }
        let batch = try! #require(buffer.takeAll())
        #expect(batch.events.count == 1000 && batch.events.first?.message == "200" && batch.events.last?.message == "1199")
        #expect(buffer.takeAll() == nil)
        // A batch that could not be sent goes back first, still within the limit.
        buffer.add(ReportedEvent(instanceID: instance, kind: "started", message: "new"))
        buffer.putBack(batch.events)
        let again = try! #require(buffer.takeAll())
        #expect(again.events.count == 1000 && again.events.last?.message == "new" && again.events.first?.message == "201")
    }

    @Test func theBackOffDoublesFromHalfASecondToThirtyWithFullJitter() {
        var backoff = ReconnectBackoff()
        var ceilings: [Duration] = []
        for _ in 0..<10 {
            ceilings.append(backoff.ceiling)
            let wait = backoff.next()
            #expect(wait >= .zero && wait <= ceilings.last!)
        }
        #expect(ceilings.prefix(7) == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30)])
        #expect(ceilings.last == .seconds(30))
        backoff.reset()
        #expect(backoff.ceiling == .milliseconds(500))
    }
}
