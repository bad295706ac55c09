import CoreMetrics
import Prometheus
import Services
import Storage
import Synchronization
import ToolboxProtocol

/// The server's metrics: swift-metrics instruments backed by a Prometheus registry, served at `/metrics`.
///
/// Labels hold only route templates (`/api/v1/agents/{id}`), methods, statuses and status names: never a raw
/// path, an id, a token or a secret.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory over ``registry``; `serve` also bootstraps `MetricsSystem` with it, so metrics that
    /// other modules emit through swift-metrics are served too.
    let factory: PrometheusMetricsFactory
    private let auditRecords: CoreMetrics.Counter
    private let tokenRejections: CoreMetrics.Counter
    /// The audit log length already counted by ``auditRecords``.
    private let auditCounted = Mutex<Int64>(0)

    init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
        auditRecords = CoreMetrics.Counter(label: "agentbox_audit_records_total", factory: factory)
        tokenRejections = CoreMetrics.Counter(label: "agentbox_token_rejections_total", factory: factory)
        CoreMetrics.Gauge(label: "agentbox_build_info", dimensions: [("version", AgentboxBuild.version)], factory: factory).record(1)
    }

    /// Counts one answered request and its latency; a 401 is a rejected (missing, malformed or invalid) token.
    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        CoreMetrics.Counter(
            label: "agentbox_http_requests_total", dimensions: [("method", method), ("route", route), ("status", String(status))],
            factory: factory
        ).increment()
        let (seconds, attoseconds) = duration.components
        CoreMetrics.Timer(label: "agentbox_http_request_duration_seconds", dimensions: [("method", method), ("route", route)], factory: factory)
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if status == 401 { tokenRejections.increment() }
    }

    /// Sets the gauges of instances and toolboxes by status, and counts audit records written since the last refresh.
    func refresh(from database: AppDatabase) async throws {
        let counts = try await database.operationalCounts()
        for (status, count) in counts.instances {
            CoreMetrics.Gauge(label: "agentbox_tool_instances", dimensions: [("status", status.rawValue)], factory: factory).record(count)
        }
        for (status, count) in counts.toolboxes {
            CoreMetrics.Gauge(label: "agentbox_toolboxes", dimensions: [("status", status.rawValue)], factory: factory).record(count)
        }
        let added = auditCounted.withLock { counted in
            let added = max(0, counts.auditRecords - counted)
            counted = max(counted, counts.auditRecords)
            return added
        }
        if added > 0 { auditRecords.increment(by: added) }
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
