import Foundation
import Synchronization

/// Writes `contents` to `path` with the given permissions, failing loudly if it cannot.
public func writeFile(atPath path: String, contents: Data?, attributes: [FileAttributeKey: Any] = [:]) throws {
    guard FileManager.default.createFile(atPath: path, contents: contents, attributes: attributes) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
}

/// A flag that concurrent test tasks read while the test runs, and the test clears to stop them.
public final class RunningFlag: Sendable {
    private let running = Atomic<Bool>(true)
    public init() {}
    public var isRunning: Bool { running.load(ordering: .acquiring) }
    public func stop() { running.store(false, ordering: .releasing) }
}
