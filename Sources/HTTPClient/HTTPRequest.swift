#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One HTTP request: method, absolute URL, headers, body and an optional time limit.
public struct HTTPRequest: Sendable {
    /// An HTTP method such as `GET`; any token is allowed.
    public struct Method: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue.uppercased() }
        public init(stringLiteral value: String) { self.init(rawValue: value) }
        public var description: String { rawValue }

        public static let get = Method(rawValue: "GET")
        public static let head = Method(rawValue: "HEAD")
        public static let post = Method(rawValue: "POST")
        public static let put = Method(rawValue: "PUT")
        public static let patch = Method(rawValue: "PATCH")
        public static let delete = Method(rawValue: "DELETE")
    }

    public var method: Method
    /// An absolute `http` or `https` URL; over a unix socket the host part is only sent as `Host`.
    public var url: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The limit for the whole exchange; nil uses the client's.
    public var timeout: Duration?

    public init(_ method: Method = .get, url: String, headers: HTTPHeaders = [:], body: [UInt8] = [], timeout: Duration? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    public init(_ method: Method = .get, url: String, headers: HTTPHeaders = [:], body: Data, timeout: Duration? = nil) {
        self.init(method, url: url, headers: headers, body: Array(body), timeout: timeout)
    }
}
