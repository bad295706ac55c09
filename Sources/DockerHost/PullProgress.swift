/// One line of an image pull's progress, as the engine reports it.
public struct PullProgress: Sendable, Equatable {
    /// What happens, e.g. `Pulling from agentbox-test/echo`, `Downloading`, `Pull complete`,
    /// `Status: Downloaded newer image for ...`.
    public let status: String
    /// The layer (or the tag) the line is about.
    public let id: String?
    /// Bytes done so far, for `Downloading` and `Extracting`.
    public let current: Int64?
    /// Bytes in all, when known.
    public let total: Int64?

    public init(status: String, id: String? = nil, current: Int64? = nil, total: Int64? = nil) {
        self.status = status
        self.id = id
        self.current = current
        self.total = total
    }
}

/// A line of the pull stream as Docker writes it.
struct PullMessage: Decodable {
    struct Detail: Decodable {
        let current: Int64?
        let total: Int64?
    }

    struct ErrorDetail: Decodable {
        let message: String?
    }

    let status: String?
    let id: String?
    let progressDetail: Detail?
    let error: String?
    let errorDetail: ErrorDetail?

    /// Docker's reason when the line reports a failure.
    var failure: String? { errorDetail?.message ?? error }

    var progress: PullProgress? {
        status.map { PullProgress(status: $0, id: id, current: progressDetail?.current, total: progressDetail?.total) }
    }
}
