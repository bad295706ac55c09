import Foundation

/// What an action does to its droplet when it completes.
enum ActionKind: Sendable {
    case create
    case powerOff
    case powerOn
    case shutdown
    case reboot
    case resize(Size, disk: Bool)

    /// The `type` of the action object, as a client sends it.
    var type: String {
        switch self {
        case .create: "create"
        case .powerOff: "power_off"
        case .powerOn: "power_on"
        case .shutdown: "shutdown"
        case .reboot: "reboot"
        case .resize: "resize"
        }
    }
}

/// An action on a droplet: `in-progress` until `completesAt`, then `completed`, or `errored` when it fails.
struct ActionRecord: Sendable {
    let id: Int
    let kind: ActionKind
    let dropletID: Int
    let region: Region
    let startedAt: Date
    let completesAt: Date
    /// Why the action fails when it completes (a scripted placement failure); nil when it succeeds.
    let failure: String?

    func status(at now: Date) -> String {
        now < completesAt ? "in-progress" : failure == nil ? "completed" : "errored"
    }

    /// The action object of the API.
    func json(at now: Date, catalog: Catalog) -> JSONValue {
        [
            "id": .int(id), "status": .string(status(at: now)), "type": .string(kind.type), "started_at": startedAt.doTimestamp,
            "completed_at": now < completesAt ? nil : completesAt.doTimestamp, "resource_id": .int(dropletID), "resource_type": "droplet",
            "region": catalog.json(region), "region_slug": .string(region.slug),
        ]
    }
}
