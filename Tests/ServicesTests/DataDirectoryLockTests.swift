import Foundation
import Services
import TestSupport
import Testing

/// One process at a time per data directory.
struct DataDirectoryLockTests {
    @Test func aSecondHolderIsRefusedWithTheFirstHoldersPid() throws {
        let folder = try TemporaryDirectory()
        let directory = DataDirectory(path: folder.path)
        let lock = try DataDirectoryLock.acquire(directory)
        #expect(DataDirectoryLock.holder(of: directory) == getpid())
        let error = #expect(throws: ServiceError.self) { try DataDirectoryLock.acquire(directory) }
        #expect(error?.code == .dataDirectoryInUse)
        #expect(error?.message.contains("pid \(getpid())") == true)
        withExtendedLifetime(lock) {}
    }

    @Test func theLockIsFreeAgainOnceItsHolderIsGone() throws {
        let folder = try TemporaryDirectory()
        let directory = DataDirectory(path: folder.path)
        do {
            let lock = try DataDirectoryLock.acquire(directory)
            withExtendedLifetime(lock) {}
        }
        #expect(DataDirectoryLock.holder(of: directory) == nil)
        let again = try DataDirectoryLock.acquire(directory)
        #expect(again.directory == directory)
    }
}
