import Foundation
import TestSupport
import Testing

@testable import Services

/// A droplet's user-data: valid cloud-config (`cloud-init schema`, Debian's cloud-init), ASCII, under 64 KiB, and
/// carrying only the enrollment token, the appliance's URL and its key pin.
struct CloudConfigTests {
    @Test func theUserDataIsValidCloudConfigWithOnlyTheShortLivedSecret() async throws {
        let token = "abx_e_" + String(repeating: "Q", count: 43) + "abcdef"
        let pin = "sha256//" + Data(repeating: 9, count: 32).base64EncodedString()
        let text = try CloudConfig.userData(toolboxID: UUID(), applianceURL: "https://agentbox.example.com:8420", pin: pin, enrollmentToken: token)
        #expect(text.hasPrefix("#cloud-config\n") && text.unicodeScalars.allSatisfy(\.isASCII) && text.utf8.count < CloudConfig.limit)
        #expect(text.components(separatedBy: token).count == 2, "the token is written once, to its 0600 file")
        #expect(text.contains("AGENTBOX_APPLIANCE_PIN=\(pin)") && text.contains("--pinnedpubkey"))
        #expect(!text.contains("Bearer \(token)"), "the token reaches curl through a header file, never a command line")
        #expect(!text.contains("abx_t_") && !text.contains("abx_u_"), "no long-lived token")
        #expect(text.contains("path: /etc/systemd/system/agentbox-dtma.service") && text.contains("ExecStart=/usr/bin/agentbox dtma"))

        let behindProxy = try CloudConfig.userData(toolboxID: UUID(), applianceURL: "https://agentbox.example.com", pin: nil, enrollmentToken: token)
        #expect(behindProxy.contains("AGENTBOX_APPLIANCE_PIN=\n"))
        #expect(throws: ServiceError.self) {
            try CloudConfig.userData(toolboxID: UUID(), applianceURL: "https://x.example.com/'; rm -rf /", pin: nil, enrollmentToken: token)
        }

        guard let schema = try await CloudInitSchema.check(text) else { return }
        #expect(schema.status == 0, "cloud-init schema: \(schema.output)")
        #expect(try await CloudInitSchema.check(behindProxy)?.status == 0)
        #expect(try await CloudInitSchema.check(text.replacingOccurrences(of: "packages:\n", with: "packages: 5\nx:\n"))?.status != 0, "the check can fail")
    }
}
