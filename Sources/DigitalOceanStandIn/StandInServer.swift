import Hummingbird
import Logging

/// A stand-in for DigitalOcean's API v2: droplets, actions, regions, sizes, images and the account, with
/// DigitalOcean's awkward parts (eventual consistency, late addresses, asynchronous failures, rate limits)
/// and a control API under `/_sim/` to script faults.
public struct StandInServer: Sendable {
    public let configuration: StandInConfiguration
    let logger: Logger

    public init(configuration: StandInConfiguration, logger: Logger = Logger(label: "agentbox-do-sim")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT; `onListening` gets the bound port once the server accepts connections.
    /// With `configuration.boot`, droplets run agentbox's DTMA here; every DTMA process stops before this returns.
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let state = StandInState(configuration: configuration, logger: logger)
        let booter = try configuration.boot.map { try DropletBooter(configuration: $0, logger: logger) }
        if let booter { logger.notice("droplets boot \(configuration.boot?.executable ?? "") dtma, in folders under \(booter.root)") }
        let router = Router(context: StandInContext.self)
        // Middleware first: it wraps only the routes added after it, and the not-found answer.
        router.add(middleware: StandInMiddleware(state: state, token: configuration.token, logger: logger))
        AccountRoutes.register(on: router, dropletLimit: configuration.dropletLimit)
        CatalogRoutes.register(on: router, state: state)
        DropletRoutes.register(on: router, state: state)
        ActionRoutes.register(on: router, state: state)
        ControlRoutes.register(on: router, state: state, booter: booter)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "agentbox-do-sim"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        let ticker = booter.map { booter in Task { await booter.run(state: state) } }
        var failure: (any Error)?
        do {
            try await app.runService()
        } catch {
            failure = error
        }
        ticker?.cancel()
        await booter?.shutdown()
        if let failure { throw failure }
    }
}
