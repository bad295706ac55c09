import ArgumentParser
import Foundation
import Logging
import Metrics
import Services
import Vault
import ToolboxProtocol

/// `agentbox bench`: the appliance's side of `make bench`, always on a throwaway data directory of its own.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure this machine: seed a throwaway data directory and serve it for load generators (what `make bench` drives).",
        discussion: """
            Never point it at real data: `bench seed` refuses a folder that holds a database, and the world it \
            writes (tokens and secrets in clear) is for load generators only. See scripts/bench.py.
            """,
        subcommands: [BenchSeedCommand.self, BenchServeCommand.self])
}

/// The options both bench commands share.
struct BenchOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A new, empty folder for the throwaway data directory.", valueName: "dir"))
    var dataDir: String

    @Option(help: ArgumentHelp("The world file: written by `bench seed`, read by `bench serve`.", valueName: "file"))
    var world: String

    /// Hardens the process and logs warnings and worse only; the data directory.
    func prepare() throws -> DataDirectory {
        _ = try DataOptions.prepareProcess(logLevel: "warning", logFormat: nil, environment: [:], label: "agentbox.bench")
        return DataDirectory(path: dataDir)
    }

    /// The data directory opened like `serve` opens it (key-file vault in `keys/`).
    func openPlane(_ directory: DataDirectory) async throws -> ControlPlane {
        let backend = try await Backend.open(
            directory, keys: MasterKeyConfiguration(credentialsDirectory: nil, keyFilePath: directory.defaultKeyFilePath, passphraseFilePath: nil),
            mode: .create, logger: Logger(label: "agentbox.bench"))
        return ControlPlane(backend: backend)
    }
}

/// `agentbox bench seed`: writes the benchmark world into a new data directory and describes it in the world file.
struct BenchSeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "Create a throwaway data directory holding the benchmark world, and write the world file (0600).")

    @OptionGroup var options: BenchOptions

    @Option(help: "DigitalOcean-style toolboxes, each with a toolbox token.")
    var toolboxes = 50

    @Option(help: "Running instances on each toolbox.")
    var instancesPerToolbox = 20

    @Option(help: "Agents, each with a toolbelt item, one allowed capability and a sealed credential.")
    var agents = 20

    func validate() throws {
        guard toolboxes > 0, instancesPerToolbox > 0, agents > 0 else {
            throw ValidationError("--toolboxes, --instances-per-toolbox and --agents must be positive")
        }
    }

    func run() async throws {
        let directory = try options.prepare()
        guard !FileManager.default.fileExists(atPath: directory.databasePath) else {
            throw ValidationError("\(options.dataDir) already holds a database; bench seed needs a new, empty folder (it never touches real data)")
        }
        let plane = try await options.openPlane(directory)
        let world = try await BenchmarkWorld(plane: plane).seed(
            .init(toolboxes: toolboxes, instancesPerToolbox: instancesPerToolbox, agents: agents))
        let data = try BenchmarkWorld.Description.encoder().encode(world)
        guard FileManager.default.createFile(atPath: options.world, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write the world file \(options.world)")
        }
    }
}

/// `agentbox bench serve`: the same HTTP server as `agentbox serve` (routes, token checks, middleware, metrics) on
/// 127.0.0.1 and a free port, over a seeded data directory, taking commands on standard input.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a seeded data directory on 127.0.0.1 and take benchmark commands on standard input.",
        discussion: """
            Prints {"port": N} once listening; then, one command a line, answering one JSON line each:
              tickets N FILE      mint N call tickets for the world's hand-outs, one "TOOLBOX-TOKEN TICKET" line each in FILE
              raw-writes SECONDS  the API write row's ceiling: instance rows inserted and deleted through Storage
              vault-opens SECONDS the hand-out row's ceiling: one credential opened by the vault in a loop
            Stops at the end of standard input. Runs no toolbox agent and no provisioner.
            """)

    @OptionGroup var options: BenchOptions

    func run() async throws {
        let directory = try options.prepare()
        let world = try BenchmarkWorld.Description.decoder().decode(
            BenchmarkWorld.Description.self, from: Data(contentsOf: URL(fileURLWithPath: options.world)))
        guard !world.toolboxes.isEmpty, !world.tools.isEmpty, !world.credentials.isEmpty, !world.handouts.isEmpty
        else { throw ValidationError("the world file \(options.world) describes no toolbox, tool, credential or hand-out; write it with bench seed") }
        let plane = try await options.openPlane(directory)
        let metrics = ServerMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        var server = HTTPServer(
            plane: plane, host: "127.0.0.1", port: 0, logger: Logger(label: "agentbox.bench"), operations: OperatorSettings(metrics: metrics))
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        server.onListening = { listening.yield($0) }
        let serving = Task { [server] in try await server.run() }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next() else { return }
        Self.answer(#"{"port": \#(port)}"#)

        // Whichever ends first ends both: standard input closing, or the server stopping on SIGTERM or SIGINT.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await serving.value }
            group.addTask { await Self.takeCommands(world: world, plane: plane) }
            await group.next()
            group.cancelAll()
            serving.cancel()
        }
    }

    /// Answers standard input's commands, one JSON line each, until it ends or the task is cancelled.
    private static func takeCommands(world: BenchmarkWorld.Description, plane: ControlPlane) async {
        let bench = BenchmarkWorld(plane: plane)
        for await line in standardInputLines() {
            let words = line.split(separator: " ").map(String.init)
            do {
                switch (words.first, words.count) {
                case ("tickets", 3):
                    guard let count = Int(words[1]), count > 0 else { throw ValidationError("tickets needs a positive count") }
                    try mintTickets(count, for: world.handouts, tickets: plane.tickets, into: words[2])
                    answer(#"{"ok": true}"#)
                case ("raw-writes", 2):
                    let rate = try await bench.rawWrites(toolboxID: world.toolboxes[0].id, toolID: world.tools[0].id, for: try seconds(words[1]))
                    answer(#"{"rate": \#(rate)}"#)
                case ("vault-opens", 2):
                    let rate = try await bench.vaultOpens(credentialID: world.credentials[0].id, for: try seconds(words[1]))
                    answer(#"{"rate": \#(rate)}"#)
                default:
                    throw ValidationError("unknown command '\(line)'; use tickets N FILE, raw-writes SECONDS or vault-opens SECONDS")
                }
            } catch {
                let message = String(describing: error).replacingOccurrences(of: "\"", with: "'")
                answer(#"{"error": "\#(message)"}"#)
            }
        }
    }

    /// Writes `count` tickets, round robin over the world's hand-outs, each after the toolbox token that redeems it.
    private static func mintTickets(_ count: Int, for handouts: [BenchmarkWorld.Description.Handout], tickets: CallTickets, into path: String) throws {
        var text = ""
        text.reserveCapacity(count * 140)
        for number in 0..<count {
            let handout = handouts[number % handouts.count]
            let binding = CallTickets.Binding(
                agentID: handout.agentID, instanceID: handout.instanceID, capability: handout.capability, requestID: "bench-\(number)")
            text += handout.token + " " + tickets.mint(binding) + "\n"
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write the tickets file \(path)")
        }
    }

    private static func seconds(_ text: String) throws -> Duration {
        guard let seconds = Double(text), seconds > 0, seconds <= 600 else { throw ValidationError("SECONDS must be from 0 to 600, not '\(text)'") }
        return .milliseconds(Int(seconds * 1000))
    }

    /// One line on standard output, flushed at once (the driver waits for it).
    private static func answer(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Standard input's lines, read on a thread of their own (reading blocks).
    private static func standardInputLines() -> AsyncStream<String> {
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        Thread.detachNewThread {
            while let line = readLine() { continuation.yield(line) }
            continuation.finish()
        }
        return lines
    }
}
