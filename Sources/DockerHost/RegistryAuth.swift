import Foundation

/// Credentials for a private registry, sent to the engine with one pull as `X-Registry-Auth`.
///
/// The password never appears in a description, a mirror (`dump`, debuggers), a log line or an
/// error message; the engine uses it for that pull only and keeps nothing.
public struct RegistryAuth: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var username: String
    public var password: String
    /// The registry's address as in the image reference, e.g. `registry.example.com` or `127.0.0.1:5001`.
    public var serveraddress: String

    public init(username: String, password: String, serveraddress: String) {
        self.username = username
        self.password = password
        self.serveraddress = serveraddress
    }

    public var description: String { "RegistryAuth(username: \(username), password: <redacted>, serveraddress: \(serveraddress))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["username": username, "password": "<redacted>", "serveraddress": serveraddress])
    }

    /// The header value: base64url (with padding) of `{"username","password","serveraddress"}`.
    var headerValue: String {
        struct Body: Encodable {
            let username: String
            let password: String
            let serveraddress: String
        }
        let json = (try? JSONEncoder().encode(Body(username: username, password: password, serveraddress: serveraddress))) ?? Data("{}".utf8)
        return json.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
