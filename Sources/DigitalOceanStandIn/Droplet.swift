import Foundation

/// Where a droplet is in its life; `archive` is never reached here.
enum DropletStatus: String, Sendable {
    case new, active, off
}

/// A droplet as the simulated cloud keeps it. Its timeline is fixed at creation from the timings then in force.
struct DropletRecord: Sendable {
    let id: Int
    /// Counts droplets from 0; picks the droplet's addresses.
    let sequence: Int
    let name: String
    let image: Image
    var size: Size
    /// GB; stays put on a resize without `disk`.
    var disk: Int
    let region: Region
    let tags: [String]
    let userData: String?
    let vpcUUID: String
    let features: [String]
    let ipv6: Bool
    var status = DropletStatus.new
    let createdAt: Date
    /// Before this, the droplet answers 404 (the API's eventual consistency).
    let visibleAt: Date
    /// When it turns `active` (or fails placement) and gets its private address.
    let activeAt: Date
    /// When its public addresses show.
    let addressedAt: Date
    /// While an action runs the droplet is locked and takes no other action.
    var lockedUntil: Date
    /// Completed reboots, so that whatever runs on the droplet can be restarted.
    var reboots = 0

    func isVisible(at now: Date) -> Bool { now >= visibleAt }
    func isLocked(at now: Date) -> Bool { now < lockedUntil }

    /// The droplet object of the API.
    func json(at now: Date, catalog: Catalog) -> JSONValue {
        [
            "id": .int(id), "name": .string(name), "memory": .int(size.memory), "vcpus": .int(size.vcpus), "disk": .int(disk),
            "locked": .bool(isLocked(at: now)), "status": .string(status.rawValue), "kernel": nil, "created_at": createdAt.doTimestamp,
            "features": JSONValue(features), "backup_ids": [], "next_backup_window": nil, "snapshot_ids": [], "image": catalog.json(image),
            "volume_ids": [], "size": catalog.json(size), "size_slug": .string(size.slug), "networks": networks(at: now),
            "region": catalog.json(region), "tags": JSONValue(tags), "vpc_uuid": .string(vpcUUID),
        ]
    }

    /// Nothing until `active`, then the private address, then (a poll or more later) the public ones.
    private func networks(at now: Date) -> JSONValue {
        var v4: [JSONValue] = []
        var v6: [JSONValue] = []
        if now >= activeAt {
            let host = sequence % 4000 + 2
            // DigitalOcean's published examples give the private gateway as the string "nil"; clients must not parse it as an address.
            v4.append(["ip_address": .string("10.108.\(host / 256).\(host % 256)"), "netmask": "255.255.240.0", "gateway": "nil", "type": "private"])
        }
        if now >= addressedAt {
            v4.append([
                "ip_address": .string("203.0.113.\(sequence % 253 + 2)"), "netmask": "255.255.255.0", "gateway": "203.0.113.1", "type": "public",
            ])
            if ipv6 {
                let address = "2001:db8::\(String(sequence + 16, radix: 16))"
                v6.append(["ip_address": .string(address), "netmask": 64, "gateway": "2001:db8::1", "type": "public"])
            }
        }
        return ["v4": .array(v4), "v6": .array(v6)]
    }
}
