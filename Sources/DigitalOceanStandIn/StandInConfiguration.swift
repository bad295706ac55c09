import Foundation

/// Everything a stand-in is started with.
public struct StandInConfiguration: Sendable {
    /// Address to listen on; loopback unless the caller decided otherwise.
    public var host: String
    /// Port to listen on; 0 picks a free one.
    public var port: Int
    /// The one bearer token the stand-in accepts.
    public var token: String
    /// How long the simulated cloud takes for things.
    public var timings: StandInTimings
    /// The account's droplet limit.
    public var dropletLimit: Int
    /// Requests a token may make in any sliding minute and hour.
    public var rateLimits: RateLimits
    /// How droplets "boot" agentbox's DTMA on this machine; nil: droplets run nothing.
    public var boot: DropletBootConfiguration?

    public init(
        host: String = "127.0.0.1", port: Int = 8421, token: String = StandInConfiguration.randomToken(), timings: StandInTimings = StandInTimings(),
        dropletLimit: Int = 25, rateLimits: RateLimits = RateLimits(), boot: DropletBootConfiguration? = nil
    ) {
        self.host = host
        self.port = port
        self.token = token
        self.timings = timings
        self.dropletLimit = dropletLimit
        self.rateLimits = rateLimits
        self.boot = boot
    }

    /// A token in DigitalOcean's personal-access-token form (`dop_v1_` and 64 hex digits).
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return "dop_v1_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}

/// How long the simulated cloud takes, in seconds.
public struct StandInTimings: Sendable, Equatable {
    /// From create to `active` (and the create action `completed`, or `errored` on a placement failure).
    public var activeAfter: Double
    /// From `active` to the public IPv4 showing in `networks.v4`.
    public var ipAfter: Double
    /// From a droplet action's start to `completed`.
    public var actionDuration: Double
    /// How long a just-created droplet answers 404.
    public var notFoundFor: Double

    public init(activeAfter: Double = 3, ipAfter: Double = 1, actionDuration: Double = 1, notFoundFor: Double = 0) {
        self.activeAfter = activeAfter
        self.ipAfter = ipAfter
        self.actionDuration = actionDuration
        self.notFoundFor = notFoundFor
    }
}

/// DigitalOcean's request limits per token: both windows slide.
public struct RateLimits: Sendable, Equatable {
    public var perMinute: Int
    public var perHour: Int

    public init(perMinute: Int = 250, perHour: Int = 5000) {
        self.perMinute = perMinute
        self.perHour = perHour
    }
}

/// How a droplet that turns `active` with agentbox's cloud-config runs `agentbox dtma` on this machine, in a folder
/// of its own, as the droplet's systemd unit would.
public struct DropletBootConfiguration: Sendable, Equatable {
    /// The agentbox binary to run as `<executable> dtma`.
    public var executable: String
    /// The folder that holds a folder per droplet; nil: a fresh temporary folder, removed when the stand-in stops.
    public var root: String?
    /// Seconds from the DTMA's exit to its restart (the unit's `Restart=always`).
    public var restartDelay: Double
    /// The Docker engine whose containers of a deleted droplet's toolbox are removed.
    public var dockerSocket: String

    public init(executable: String, root: String? = nil, restartDelay: Double = 1, dockerSocket: String = "/var/run/docker.sock") {
        self.executable = executable
        self.root = root
        self.restartDelay = restartDelay
        self.dockerSocket = dockerSocket
    }
}
