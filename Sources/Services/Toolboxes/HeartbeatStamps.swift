import Foundation
import Storage
import Synchronization

/// The heartbeat times of quiet beats (soft state, SECURITY.md "Durability and speed"): a heartbeat that changes
/// nothing but the toolbox's `last_heartbeat_at` is kept here and written with the others of the same second in one
/// transaction, instead of taking a commit of its own. A crash loses at most the last second of such stamps, never
/// a status change: a beat that changes anything is written at once, by ``ToolboxControl/ingest(_:)``.
public final class HeartbeatStamps: Sendable {
    /// How long a stamp may wait for the write that carries it.
    static let flushDelay: Duration = .seconds(1)

    private struct State {
        var pending: [UUID: Date] = [:]
        var flushScheduled = false
    }

    private let database: AppDatabase
    private let state = Mutex(State())

    init(database: AppDatabase) {
        self.database = database
    }

    /// Keeps `date` as the toolbox's latest heartbeat, to be written within ``flushDelay``.
    func record(_ toolboxID: UUID, at date: Date) {
        let schedule = state.withLock { state in
            state.pending[toolboxID] = max(date, state.pending[toolboxID] ?? date)
            defer { state.flushScheduled = true }
            return !state.flushScheduled
        }
        guard schedule else { return }
        Task {
            try? await Task.sleep(for: Self.flushDelay)
            // Soft state: a failed write (a full disk) loses these stamps; the toolboxes' next beats bring new ones.
            try? await self.flush()
        }
    }

    /// Writes every stamp kept so far (before anything reads `last_heartbeat_at` to judge a toolbox silent).
    public func flush() async throws {
        let stamps = state.withLock { state in
            defer {
                state.pending = [:]
                state.flushScheduled = false
            }
            return state.pending
        }
        guard !stamps.isEmpty else { return }
        try await database.transaction { tx in try tx.stampHeartbeats(stamps) }
    }
}
