import DockerHost
import Synchronization

/// Sums a pull's progress over its layers into one line, at most once a second:
/// `downloading 3.2 of 10.5 MB (2 of 4 layers done)`.
final class PullMeter: Sendable {
    private struct State {
        var layers: [String: (current: Int64, total: Int64)] = [:]
        var done: Set<String> = []
        var lastLine: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private let interval: Duration

    init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// Takes one progress message; returns a line when one is due.
    func update(_ progress: PullProgress) -> String? {
        state.withLock { state in
            guard let layer = progress.id else { return nil }
            switch progress.status {
            case "Downloading":
                state.layers[layer] = (progress.current ?? 0, progress.total ?? state.layers[layer]?.total ?? 0)
            case "Download complete", "Pull complete", "Already exists":
                state.done.insert(layer)
                if let known = state.layers[layer] { state.layers[layer] = (known.total, known.total) }
            default:
                return nil
            }
            let now = ContinuousClock.now
            if let last = state.lastLine, now - last < interval { return nil }
            state.lastLine = now
            let current = state.layers.values.reduce(0) { $0 + $1.current }
            let total = state.layers.values.reduce(0) { $0 + $1.total }
            let layers = Set(state.layers.keys).union(state.done).count
            return "downloading \(Self.megabytes(current)) of \(Self.megabytes(total)) MB (\(state.done.count) of \(layers) layers done)"
        }
    }

    private static func megabytes(_ bytes: Int64) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10)"
    }
}
