import Foundation
import Storage

/// The user-data of a toolbox's droplet: cloud-config for a stock Debian 12 image that installs Docker, writes the
/// agent's settings and systemd unit, fetches the agent package from the appliance with the single-use enrollment
/// token (over TLS pinned to the appliance's key when it has its own certificate), installs it and starts the agent.
///
/// It carries only the short-lived enrollment token, the appliance's URL and key pin: DigitalOcean's metadata
/// service shows user-data to any process on the droplet for good. The token reaches curl through a header file
/// in /run, never a command line. ASCII only, well under DigitalOcean's 64 KiB.
enum CloudConfig {
    /// DigitalOcean's limit for user-data.
    static let limit = 64 << 10

    /// The cloud-config for `toolboxID`'s droplet; `pin` is nil when the appliance sits behind a certificate that
    /// a certificate authority signed (a reverse proxy).
    static func userData(toolboxID: UUID, applianceURL: String, pin: String?, enrollmentToken: String) throws -> String {
        try check(applianceURL: applianceURL, pin: pin, enrollmentToken: enrollmentToken)
        let text = """
            #cloud-config
            # agentbox toolbox \(toolboxID.text): Docker and the agentbox DTMA (agentbox dtma), which enrolls with the appliance.
            package_update: true
            packages:
              - docker.io
              - curl
              - ca-certificates
            write_files:
              - path: /etc/agentbox/enrollment-token
                owner: root:root
                permissions: '0600'
                content: '\(enrollmentToken)'
              - path: /etc/agentbox/agent.conf
                owner: root:root
                permissions: '0644'
                content: |
            \(indented(settings(toolboxID: toolboxID, applianceURL: applianceURL, pin: pin)))
              - path: /etc/systemd/system/agentbox-dtma.service
                owner: root:root
                permissions: '0644'
                content: |
            \(indented(unit(toolboxID)))
            runcmd:
              - - sh
                - -c
                - >-
            \(indented(install))

            """
        guard text.utf8.count < limit else { throw ServiceError(.unprocessable, "the droplet's user-data would pass DigitalOcean's 64 KiB") }
        return text
    }

    /// The same as a shell script to run once as root on a droplet that is already up, e.g. one that ran the hosted
    /// stack's Node.js agent (`agentbox toolbox reenroll`): the token stays in a 0600 file, as with user-data.
    static func script(toolboxID: UUID, applianceURL: String, pin: String?, enrollmentToken: String, expiresAt: Date) throws -> String {
        try check(applianceURL: applianceURL, pin: pin, enrollmentToken: enrollmentToken)
        let end = "AGENTBOX_EOF"
        return """
            #!/bin/sh
            # agentbox: enroll agentbox's DTMA (agentbox dtma) on the droplet of toolbox \(toolboxID.text).
            # Run once as root on the droplet, e.g. ssh root@ADDRESS sh < this-file. Its enrollment token serves once
            # and expires at \(Timestamp.string(from: expiresAt)). Stop the hosted stack's Node.js agent and remove its
            # containers first (docker rm -f ...): agentbox's agent runs the toolbox's instances on the same host ports.
            set -eu
            umask 077
            export DEBIAN_FRONTEND=noninteractive
            apt-get update
            apt-get install -y docker.io curl ca-certificates
            mkdir -p /etc/agentbox
            cat > /etc/agentbox/enrollment-token <<'\(end)'
            \(enrollmentToken)
            \(end)
            cat > /etc/agentbox/agent.conf <<'\(end)'
            \(settings(toolboxID: toolboxID, applianceURL: applianceURL, pin: pin).joined(separator: "\n"))
            \(end)
            cat > /etc/systemd/system/agentbox-dtma.service <<'\(end)'
            \(unit(toolboxID).joined(separator: "\n"))
            \(end)
            chmod 0644 /etc/agentbox/agent.conf /etc/systemd/system/agentbox-dtma.service
            systemctl daemon-reload
            \(install.joined(separator: " \\\n  "))

            """
    }

    /// Refuses values that could break out of the files and commands they go into.
    private static func check(applianceURL: String, pin: String?, enrollmentToken: String) throws {
        for (name, value) in [("appliance URL", applianceURL), ("key pin", pin ?? ""), ("enrollment token", enrollmentToken)] {
            guard value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0 != "'" && $0 != "\"" && $0 != "\\" }) else {
                throw ServiceError(.unprocessable, "the \(name) cannot go into a droplet's user-data: printable ASCII without quotes or spaces only")
            }
        }
    }

    /// The agent's settings file (/etc/agentbox/agent.conf).
    private static func settings(toolboxID: UUID, applianceURL: String, pin: String?) -> [String] {
        [
            "AGENTBOX_APPLIANCE_URL=\(applianceURL)", "AGENTBOX_APPLIANCE_PIN=\(pin ?? "")", "AGENTBOX_TOOLBOX_ID=\(toolboxID.text)",
            "AGENTBOX_ENROLLMENT_TOKEN_FILE=/etc/agentbox/enrollment-token",
        ]
    }

    /// The agent's systemd unit.
    private static func unit(_ toolboxID: UUID) -> [String] {
        [
            "[Unit]", "Description=agentbox dtma (the DTMA of toolbox \(toolboxID.text))", "Wants=network-online.target docker.service",
            "After=network-online.target docker.service", "", "[Service]", "EnvironmentFile=/etc/agentbox/agent.conf", "ExecStart=/usr/bin/agentbox dtma",
            "StateDirectory=agentbox-dtma", "Restart=always", "RestartSec=5", "", "[Install]", "WantedBy=multi-user.target",
        ]
    }

    /// One shell command, in parts: fetch the agent package with the enrollment token (through a header file in
    /// /run, never a command line), install it, start the agent.
    private static let install = [
        "set -eu; umask 077; . /etc/agentbox/agent.conf;",
        "sed 's/^/Authorization: Bearer /' \"$AGENTBOX_ENROLLMENT_TOKEN_FILE\" > /run/agentbox-enroll.header;",
        "curl --fail --silent --show-error --retry 30 --retry-delay 10 --retry-all-errors",
        "${AGENTBOX_APPLIANCE_PIN:+--insecure --pinnedpubkey $AGENTBOX_APPLIANCE_PIN}",
        "-H @/run/agentbox-enroll.header -o /run/agentbox.deb \"$AGENTBOX_APPLIANCE_URL/api/v1/agent/package\";",
        "rm -f /run/agentbox-enroll.header;",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y /run/agentbox.deb;",
        "rm -f /run/agentbox.deb;",
        "systemctl enable --now agentbox-dtma.service",
    ]

    /// Lines as a block of YAML six spaces in (blank lines stay empty).
    private static func indented(_ lines: [String]) -> String {
        lines.map { $0.isEmpty ? "" : "      " + $0 }.joined(separator: "\n")
    }
}
