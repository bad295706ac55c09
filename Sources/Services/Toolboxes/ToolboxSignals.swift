import Foundation

/// Tells the DTMA side that a toolbox's desired state changed (an instance created, started, stopped,
/// restarted, upgraded or deleted), so it converges now instead of at its next poll.
///
/// Signals are hints: one that nobody reads is dropped, and the poll still converges. One reader
/// (the local toolbox runner) consumes ``changes``.
public final class ToolboxSignals: Sendable {
    /// The toolboxes whose desired state changed, in order; repeated ids are not merged.
    public let changes: AsyncStream<UUID>
    private let continuation: AsyncStream<UUID>.Continuation

    public init() {
        (changes, continuation) = AsyncStream.makeStream(of: UUID.self, bufferingPolicy: .bufferingNewest(1024))
    }

    /// Notes that `toolboxID`'s desired state changed.
    public func changed(_ toolboxID: UUID) {
        continuation.yield(toolboxID)
    }
}
