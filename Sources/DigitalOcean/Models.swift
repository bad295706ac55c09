import Foundation

// The DigitalOcean API v2 objects agentbox reads, decoded leniently: fields it does not use are ignored, and
// optional ones may be missing or null.

/// A droplet: the virtual machine of a remote toolbox.
public struct Droplet: Decodable, Sendable, Equatable {
    public var id: Int
    public var name: String
    /// `new`, `active`, `off` or `archive`.
    public var status: String
    public var locked: Bool?
    public var memory: Int?
    public var vcpus: Int?
    public var disk: Int?
    public var sizeSlug: String?
    public var region: Region?
    public var tags: [String]?
    public var networks: Networks?
    public var createdAt: String?

    public struct Networks: Decodable, Sendable, Equatable {
        public var v4: [Address]?
    }

    public struct Address: Decodable, Sendable, Equatable {
        public var ipAddress: String
        /// `public` or `private`.
        public var type: String
    }

    /// The public IPv4 address, once DigitalOcean has given one (it may come after `active`).
    public var publicIPv4: String? { networks?.v4?.first { $0.type == "public" }?.ipAddress }

    /// Running and reachable: `active` alone is not enough, the public address may come later.
    public var isReady: Bool { status == "active" && publicIPv4 != nil }
}

/// An asynchronous action on a droplet (its creation, a power change, a resize).
public struct DropletAction: Decodable, Sendable, Equatable {
    public var id: Int
    /// `in-progress`, `completed` or `errored`.
    public var status: String
    public var type: String
    public var resourceID: Int?
    public var startedAt: String?
    public var completedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, status, type, startedAt, completedAt
        case resourceID = "resourceId"
    }
}

/// A datacenter region.
public struct Region: Decodable, Sendable, Equatable {
    public var slug: String
    public var name: String
    public var available: Bool
    /// The size slugs offered there.
    public var sizes: [String]?
}

/// A droplet size (plan).
public struct Size: Decodable, Sendable, Equatable {
    public var slug: String
    public var memory: Int
    public var vcpus: Int
    public var disk: Int
    public var priceMonthly: Double?
    public var available: Bool
    /// The region slugs where it is offered.
    public var regions: [String]
    public var description: String?
}

/// The account the token belongs to.
public struct Account: Decodable, Sendable, Equatable {
    public var email: String?
    public var uuid: String?
    public var status: String?
    public var dropletLimit: Int?
}

/// What to create: a droplet with agentbox's tag (a unique tag per toolbox) and its cloud-config.
public struct DropletRequest: Encodable, Sendable, Equatable {
    public var name: String
    public var region: String
    public var size: String
    public var image: String
    public var tags: [String]
    public var userData: String?
    public var monitoring: Bool

    public init(name: String, region: String, size: String, image: String = "debian-12-x64", tags: [String], userData: String? = nil, monitoring: Bool = true) {
        self.name = name
        self.region = region
        self.size = size
        self.image = image
        self.tags = tags
        self.userData = userData
        self.monitoring = monitoring
    }
}
