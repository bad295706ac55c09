import Hummingbird

/// How a list that fits on one page shows its links: DigitalOcean has answered all three ways, so clients must take each.
enum SinglePageLinks: CaseIterable, Sendable {
    case absent
    case empty
    case emptyPages
}

/// `page` (from 1) and `per_page` (default 20, at most 200) of a list request. Out-of-range values are clamped, as DigitalOcean does.
struct Page: Sendable {
    let number: Int
    let size: Int

    static let defaultSize = 20
    static let maximumSize = 200

    init(_ request: Request) {
        number = request.query("page").flatMap { Int($0) }.map { min(max(1, $0), 1_000_000) } ?? 1
        size = request.query("per_page").flatMap { Int($0) }.map { min(max(1, $0), Self.maximumSize) } ?? Self.defaultSize
    }

    /// `{key: [this page of items], "links": {"pages": {first, prev, next, last}}, "meta": {"total"}}`, links as full URLs keeping the query.
    func answer(_ key: String, _ items: [JSONValue], request: Request, singlePage: SinglePageLinks) -> JSONValue {
        let lastPage = max(1, (items.count + size - 1) / size)
        let start = number > lastPage ? items.count : (number - 1) * size
        var members: [(String, JSONValue)] = [(key, .array(Array(items[start..<min(items.count, start + size)])))]
        if lastPage == 1 && number == 1 {
            switch singlePage {
            case .absent: break
            case .empty: members.append(("links", [:]))
            case .emptyPages: members.append(("links", ["pages": [:]]))
            }
        } else {
            var pages: [(String, JSONValue)] = []
            if number > 1 { pages += [("first", link(1, request)), ("prev", link(number - 1, request))] }
            if number < lastPage { pages += [("next", link(number + 1, request)), ("last", link(lastPage, request))] }
            members.append(("links", ["pages": .object(pages)]))
        }
        members.append(("meta", ["total": .int(items.count)]))
        return .object(members)
    }

    /// A list answer for `request`: the page it asks for of `items`.
    static func list(_ key: String, _ items: [JSONValue], request: Request, state: StandInState) async -> Response {
        Page(request).answer(key, items, request: request, singlePage: await state.nextSinglePageLinks()).response()
    }

    /// The request's URL with `page` set to `page`, every other query item kept in order.
    private func link(_ page: Int, _ request: Request) -> JSONValue {
        var items = (request.uri.query ?? "").split(separator: "&").map(String.init)
        if let index = items.firstIndex(where: { $0 == "page" || $0.hasPrefix("page=") }) {
            items[index] = "page=\(page)"
        } else {
            items.insert("page=\(page)", at: 0)
        }
        return .string("\(request.baseURL)\(request.uri.path)?\(items.joined(separator: "&"))")
    }
}
