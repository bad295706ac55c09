/// An image reference split the way `POST /images/create` wants it: `fromImage` and `tag`.
struct ImageReference: Equatable {
    /// The repository with its registry, e.g. `127.0.0.1:5000/agentbox-test/echo`.
    let repository: String
    /// The tag, or a digest (`sha256:...`); `latest` when the reference names neither.
    let tag: String

    /// Splits `registry:port/name:tag` or `name@sha256:digest`. A colon counts as a tag separator only
    /// after the last slash, so a registry's port is not taken for a tag.
    init(_ reference: String) {
        if let at = reference.firstIndex(of: "@") {
            repository = String(reference[..<at])
            tag = String(reference[reference.index(after: at)...])
            return
        }
        let lastSlash = reference.lastIndex(of: "/")
        if let colon = reference.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            repository = String(reference[..<colon])
            tag = String(reference[reference.index(after: colon)...])
        } else {
            repository = reference
            tag = "latest"
        }
    }

    var description: String { tag.contains(":") ? "\(repository)@\(tag)" : "\(repository):\(tag)" }
}
