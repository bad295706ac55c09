import Foundation
import Synchronization

private let launchLock = Mutex(())

/// Starts a child process, one launch at a time across the test run: Foundation's `Process.run()` on
/// Linux has crashed here (a bad pointer in its memcpy) when several tests launched children at once.
public func launch(_ process: Process) throws {
    try launchLock.withLock { _ in try process.run() }
}
