import Foundation
import HTTPClient
import Metrics

/// A client of the DigitalOcean API v2 (DIGITALOCEAN.md) on the project's libcurl `HTTPClient`; every DigitalOcean
/// call of agentbox goes through it.
///
/// Retries connection errors, 429 and 5xx other than 501 (``RetryPolicy``), honouring `retry-after` and
/// `ratelimit-reset`; slows down before the rate limit runs out (``RateLimitTracker``). A create is never retried
/// blindly: ``ensureDroplet(_:tag:)`` lists by the toolbox's tag first and adopts what exists. libcurl honours
/// `HTTPS_PROXY` (and `NO_PROXY`) from the environment. Knows nothing of toolboxes or the database.
public final class DigitalOceanClient: Sendable {
    /// The real API.
    public static let defaultBaseURL = "https://api.digitalocean.com"

    /// The API's base URL without a trailing slash: the real one, or a stand-in's on loopback.
    public let baseURL: String
    private let token: String
    let retry: RetryPolicy
    /// Items asked for per page of a list (DigitalOcean allows 1 to 200).
    let pageSize: Int
    private let http: HTTPClient
    private let rateLimit = RateLimitTracker()

    public init(
        token: String, baseURL: String = DigitalOceanClient.defaultBaseURL, retry: RetryPolicy = RetryPolicy(), timeout: Duration = .seconds(30),
        pageSize: Int = 200
    ) {
        self.token = token
        self.pageSize = min(200, max(1, pageSize))
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.retry = retry
        http = HTTPClient(configuration: .init(connectTimeout: .seconds(10), timeout: timeout, maximumResponseSize: 16 << 20))
    }

    // MARK: - Account, regions, sizes

    /// The token's account; also the way to check a token.
    public func account() async throws(DigitalOceanError) -> Account {
        try await unwrap(Account.self, "account", from: call(.get, "/v2/account", "reading the account"))
    }

    /// Every region, all pages.
    public func regions() async throws(DigitalOceanError) -> [Region] {
        try await all("/v2/regions", key: "regions", "listing regions")
    }

    /// Every droplet size, all pages.
    public func sizes() async throws(DigitalOceanError) -> [Size] {
        try await all("/v2/sizes", key: "sizes", "listing sizes")
    }

    // MARK: - Droplets

    /// A droplet, or nil when DigitalOcean says 404 (gone, never placed, or not visible yet).
    public func droplet(_ id: Int) async throws(DigitalOceanError) -> Droplet? {
        do {
            return try await unwrap(Droplet.self, "droplet", from: call(.get, "/v2/droplets/\(id)", "reading droplet \(id)"))
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// The droplets carrying `tag`, all pages.
    public func droplets(tag: String) async throws(DigitalOceanError) -> [Droplet] {
        try await all("/v2/droplets?tag_name=\(Self.encoded(tag))", key: "droplets", "listing droplets tagged \(tag)")
    }

    /// Creates one droplet, once: a failure here may still have created it (see ``ensureDroplet(_:tag:)``).
    /// The droplet (status `new`) and the id of its create action.
    public func createDroplet(_ request: DropletRequest) async throws(DigitalOceanError) -> (droplet: Droplet, actionID: Int?) {
        let body: [UInt8]
        do {
            body = Array(try Self.encoder.encode(request))
        } catch {
            throw DigitalOceanError(.unexpectedAnswer, "creating droplet \(request.name): the request could not be encoded")
        }
        let created = try await decode(Created.self, from: call(.post, "/v2/droplets", "creating droplet \(request.name)", body: body, retrying: false))
        return (created.droplet, created.links?.actions?.first { $0.rel == "create" }?.id)
    }

    /// The one droplet tagged `tag`, created from `request` only if the tag lists none. Extras (from an earlier
    /// create that was thought lost) are deleted, keeping the oldest. A create whose answer is lost is not repeated
    /// blindly: the tag is listed again first, and what it lists is adopted. The create action's id when this call
    /// created the droplet.
    public func ensureDroplet(_ request: DropletRequest, tag: String) async throws(DigitalOceanError) -> (droplet: Droplet, actionID: Int?) {
        precondition(request.tags.contains(tag), "the request must carry the tag it is found by")
        var attempt = 0
        while true {
            attempt += 1
            if let found = try await adopt(tag: tag) { return (found, nil) }
            do {
                return try await createDroplet(request)
            } catch where error.isRetryable && attempt < retry.attempts {
                Counter(label: "agentbox_digitalocean_retries_total", dimensions: [("reason", "create_unknown")]).increment()
                // A dropped connection or a 5xx may hide a droplet that was made; a 429 made nothing.
                if error.code != .rateLimited, let found = try await awaitListing(tag: tag) { return (found, nil) }
                try await Self.sleep(retry.delay(after: attempt, asked: nil))
            }
        }
    }

    /// The droplet tagged `tag` once DigitalOcean lists it, asked every `retry.base` for `retry.listingGrace`; nil if none shows.
    private func awaitListing(tag: String) async throws(DigitalOceanError) -> Droplet? {
        let deadline = ContinuousClock.now + retry.listingGrace
        while ContinuousClock.now < deadline {
            try await Self.sleep(min(retry.base, retry.listingGrace))
            if let found = try await adopt(tag: tag) { return found }
        }
        return nil
    }

    /// Deletes every droplet tagged `tag` but `kept`: extras a create whose answer was lost made, listed late.
    public func deleteDroplets(tag: String, except kept: Int) async throws(DigitalOceanError) {
        for extra in try await droplets(tag: tag) where extra.id != kept { try await deleteDroplet(extra.id) }
    }

    /// The oldest droplet tagged `tag` after deleting the others, or nil when there is none.
    private func adopt(tag: String) async throws(DigitalOceanError) -> Droplet? {
        let tagged = try await droplets(tag: tag).sorted { ($0.createdAt ?? "", $0.id) < ($1.createdAt ?? "", $1.id) }
        for extra in tagged.dropFirst() { try await deleteDroplet(extra.id) }
        return tagged.first
    }

    /// Deletes a droplet; one already gone counts as deleted.
    public func deleteDroplet(_ id: Int) async throws(DigitalOceanError) {
        do {
            _ = try await call(.delete, "/v2/droplets/\(id)", "deleting droplet \(id)")
        } catch where error.code == .notFound {
            return
        }
    }

    /// Deletes every droplet tagged `tag` (check with ``droplets(tag:)`` that none is left).
    public func deleteDroplets(tag: String) async throws(DigitalOceanError) {
        _ = try await call(.delete, "/v2/droplets?tag_name=\(Self.encoded(tag))", "deleting droplets tagged \(tag)")
    }

    // MARK: - Actions

    /// What can be done to a droplet.
    public enum ActionKind: Sendable, Equatable {
        case powerOff, powerOn, shutdown
        /// To another size; DigitalOcean wants the droplet off first. `disk` also grows the disk (not reversible).
        case resize(size: String, disk: Bool)
    }

    /// Starts an action on a droplet.
    public func act(on id: Int, _ kind: ActionKind) async throws(DigitalOceanError) -> DropletAction {
        let body: [String: Any] =
            switch kind {
            case .powerOff: ["type": "power_off"]
            case .powerOn: ["type": "power_on"]
            case .shutdown: ["type": "shutdown"]
            case .resize(let size, let disk): ["type": "resize", "size": size, "disk": disk]
            }
        let data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
        return try await unwrap(
            DropletAction.self, "action", from: call(.post, "/v2/droplets/\(id)/actions", "\(body["type"] ?? "acting on") droplet \(id)", body: Array(data)))
    }

    /// An action's current state.
    public func action(_ id: Int) async throws(DigitalOceanError) -> DropletAction {
        try await unwrap(DropletAction.self, "action", from: call(.get, "/v2/actions/\(id)", "reading action \(id)"))
    }

    // MARK: - The exchange

    /// One call with the retries: the answer of a 2xx, or the error of the last try.
    func call(
        _ method: HTTPRequest.Method, _ path: String, _ operation: String, body: [UInt8] = [], retrying: Bool = true
    ) async throws(DigitalOceanError) -> HTTPResponse {
        var attempt = 0
        while true {
            attempt += 1
            let pause = rateLimit.pause()
            if pause > .zero {
                Counter(label: "agentbox_digitalocean_rate_limit_waits_total").increment()
                try await Self.sleep(pause)
            }
            var headers: HTTPHeaders = ["Authorization": "Bearer \(token)", "Accept": "application/json"]
            if !body.isEmpty { headers["Content-Type"] = "application/json" }
            let outcome: Result<HTTPResponse, DigitalOceanError>
            do {
                let response = try await http.send(HTTPRequest(method, url: baseURL + path, headers: headers, body: body))
                rateLimit.note(
                    limit: response.headers["ratelimit-limit"], remaining: response.headers["ratelimit-remaining"], reset: response.headers["ratelimit-reset"])
                outcome = (200..<300).contains(response.status) ? .success(response) : .failure(Self.failure(response, operation))
            } catch {
                outcome = .failure(Self.failure(error, operation))
            }
            Counter(label: "agentbox_digitalocean_requests_total", dimensions: [("method", method.rawValue), ("outcome", Self.outcome(outcome))]).increment()
            switch outcome {
            case .success(let response):
                return response
            case .failure(let error):
                guard retrying, error.isRetryable, attempt < retry.attempts else { throw error }
                Counter(label: "agentbox_digitalocean_retries_total", dimensions: [("reason", error.code.description)]).increment()
                try await Self.sleep(retry.delay(after: attempt, asked: askedDelay(error)))
            }
        }
    }

    /// What DigitalOcean asked the client to wait: `retry-after` of a 429, else the rate limit's reset.
    private func askedDelay(_ error: DigitalOceanError) -> Duration? {
        guard error.code == .rateLimited else { return nil }
        return error.retryAfter ?? rateLimit.untilReset()
    }

    /// Every page of a list: follows `links.pages.next` until there is none (a lone page may have no links).
    private func all<Item: Decodable & Sendable>(_ path: String, key: String, _ operation: String) async throws(DigitalOceanError) -> [Item] {
        var items: [Item] = []
        var next: String? = path + (path.contains("?") ? "&" : "?") + "per_page=\(pageSize)"
        var pages = 0
        while let current = next {
            pages += 1
            guard pages <= 1000 else { throw DigitalOceanError(.unexpectedAnswer, "\(operation): more than 1000 pages") }
            let response = try await call(.get, current, operation)
            let page = try decode(Page<Item>.self, from: response, key: key)
            items += page.items
            next = try page.next.map { url throws(DigitalOceanError) in try relative(url, operation) }
        }
        return items
    }

    /// A `links.pages.next` URL as a path on this client's base, refusing one that points elsewhere.
    private func relative(_ url: String, _ operation: String) throws(DigitalOceanError) -> String {
        guard let components = URLComponents(string: url), let base = URLComponents(string: baseURL),
            components.host == nil || components.host == base.host
        else { throw DigitalOceanError(.unexpectedAnswer, "\(operation): the next page's link leaves \(baseURL)") }
        return components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// The answer decoded as `type`; `key` names the member that holds the object or the list.
    private func decode<Value: Decodable>(_ type: Value.Type, from response: HTTPResponse, key: String? = nil) throws(DigitalOceanError) -> Value {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        if let key { decoder.userInfo[AnyKey.member] = key }
        do {
            return try decoder.decode(Value.self, from: Data(response.body))
        } catch {
            throw DigitalOceanError(
                .unexpectedAnswer, "DigitalOcean's answer is not the JSON agentbox expects\(key.map { " (an object with \($0))" } ?? "")",
                status: response.status, requestID: response.headers["x-request-id"])
        }
    }

    /// The object under `key` of an answer like `{"droplet": {...}}`.
    private func unwrap<Value: Decodable>(_ type: Value.Type, _ key: String, from response: HTTPResponse) throws(DigitalOceanError) -> Value {
        try decode(Wrapped<Value>.self, from: response, key: key).value
    }
}

extension DigitalOceanClient {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }()

    /// The error of a non-2xx answer: DigitalOcean's `id`, `message` and request id.
    static func failure(_ response: HTTPResponse, _ operation: String) -> DigitalOceanError {
        let body = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let id = body?["id"] as? String
        let message = (body?["message"] as? String).map { "\(operation): \($0)" } ?? "\(operation): DigitalOcean answered HTTP \(response.status)"
        let requestID = response.headers["x-request-id"] ?? body?["request_id"] as? String
        let code: DigitalOceanError.Code =
            switch response.status {
            case 401, 403: .unauthorized
            case 404: .notFound
            case 429: .rateLimited
            case 500...: .server
            default: .unprocessable
            }
        var error = DigitalOceanError(code, message, status: response.status, id: id, requestID: requestID)
        if let seconds = response.headers["retry-after"].flatMap(Double.init) { error.retryAfter = .milliseconds(Int(seconds * 1000)) }
        return error
    }

    /// The error of a call that got no answer.
    static func failure(_ error: HTTPClientError, _ operation: String) -> DigitalOceanError {
        if error.code == .cancelled { return DigitalOceanError(.cancelled, "\(operation): cancelled") }
        return DigitalOceanError(.unreachable, "\(operation): no answer from DigitalOcean (\(error.code): \(error.message))")
    }

    static func outcome(_ outcome: Result<HTTPResponse, DigitalOceanError>) -> String {
        switch outcome {
        case .success: "ok"
        case .failure(let error): error.status.map { "http_\($0)" } ?? error.code.description
        }
    }

    static func sleep(_ duration: Duration) async throws(DigitalOceanError) {
        do {
            try await Task.sleep(for: duration)
        } catch {
            throw DigitalOceanError(.cancelled, "cancelled while waiting to retry")
        }
    }

    static func encoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~:"))) ?? value
    }
}

/// `{"<key>": value}`, the key given in the decoder's user info.
struct Wrapped<Value: Decodable>: Decodable {
    let value: Value

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        value = try container.decode(Value.self, forKey: AnyKey(decoder.userInfo[AnyKey.member] as? String ?? ""))
    }
}

/// A page of a list: the items under `key`, and the next page's URL if there is one.
struct Page<Item: Decodable>: Decodable {
    let items: [Item]
    let next: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        items = try container.decode([Item].self, forKey: AnyKey(decoder.userInfo[AnyKey.member] as? String ?? ""))
        let links = try? container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("links"))
        let pages = try? links?.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("pages"))
        next = try? pages?.decodeIfPresent(String.self, forKey: AnyKey("next"))
    }
}

/// The answer of a create: the droplet and its create action.
struct Created: Decodable {
    let droplet: Droplet
    let links: Links?

    struct Links: Decodable {
        let actions: [Link]?
    }

    struct Link: Decodable {
        let id: Int
        let rel: String?
    }
}

/// A member name known at run time.
struct AnyKey: CodingKey {
    /// The user-info entry naming the member that holds an answer's object or list.
    static let member = CodingUserInfoKey(rawValue: "agentbox.member")!

    let stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
