import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// Renders console pages: a page's template with its values, inside the layout, as an HTML response with the
/// headers every console answer carries (a Content-Security-Policy allowing only the console's own script and
/// style, no framing, no caching, no referrer). Values are escaped by Mustache's `{{...}}`; only the rendered page
/// itself goes into the layout unescaped.
struct ConsolePages: Sendable {
    private let library: MustacheLibrary

    init() throws {
        var library = MustacheLibrary()
        for (name, text) in ConsoleTemplates.all { try library.register(text, named: name) }
        self.library = library
    }

    /// The security headers of every console answer.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (
            .contentSecurityPolicy,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        (.xContentTypeOptions, "nosniff"), (.init("X-Frame-Options")!, "DENY"), (.init("Referrer-Policy")!, "no-referrer"),
        (.cacheControl, "no-store"),
    ]

    /// `template` with `values`, inside the layout; `session` adds the navigation and the sign-out form.
    func render(
        _ template: String, title: String, values: [String: Any] = [:], session: ConsoleSessions.SignedIn?, status: HTTPResponse.Status = .ok,
        cookies: [String] = []
    ) -> Response {
        var values = values
        if let session {
            values["csrf"] = session.csrf
            values["admin"] = session.principal.isAdmin
        }
        let content = library.render(values, withTemplate: template) ?? ""
        var layout: [String: Any] = ["title": title, "content": content]
        if let session {
            layout["user"] = ["name": session.user.name, "csrf": session.csrf, "admin": session.principal.isAdmin]
        }
        return Self.response(library.render(layout, withTemplate: "layout") ?? "", type: "text/html; charset=utf-8", status: status, cookies: cookies)
    }

    /// A 303 to `location` (after a form), with cookies to set.
    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var response = Self.response("", type: "text/plain; charset=utf-8", status: .seeOther, cookies: cookies)
        response.headers[.location] = location
        return response
    }

    /// A console answer with its headers.
    static func response(_ body: String, type: String, status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        for (name, value) in securityHeaders { headers[name] = value }
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// A posted HTML form (application/x-www-form-urlencoded): its fields by name, the last value of each.
struct ConsoleForm: Sendable {
    let fields: [String: String]
    /// Every value of a field that repeats (checkboxes).
    let all: [String: [String]]

    /// Reads the body of `request` (at most 1 MiB).
    static func read(_ request: Request) async throws -> ConsoleForm {
        let body = try await request.body.collect(upTo: 1 << 20)
        return ConsoleForm(encoded: String(buffer: body))
    }

    init(encoded: String) {
        var fields: [String: String] = [:]
        var all: [String: [String]] = [:]
        for pair in encoded.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            let name = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            fields[name] = value
            all[name, default: []].append(value)
        }
        self.fields = fields
        self.all = all
    }

    subscript(_ name: String) -> String? { fields[name] }

    /// A field with surrounding spaces removed; nil when absent or blank.
    func text(_ name: String) -> String? {
        let value = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return value.isEmpty ? nil : value
    }
}
