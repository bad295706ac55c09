import Foundation
import Hummingbird

/// The control API under `/_sim/` for tests and people: faults, a view of the whole state, and a reset.
enum ControlRoutes {
    static func register(on router: Router<StandInContext>, state: StandInState, booter: DropletBooter?) {
        router.post("/_sim/faults") { request, context in
            await state.addFaults(try FaultRequest(try await request.json(context)))
            return await state.faultsJSON.response()
        }
        router.get("/_sim/faults") { _, _ in
            await state.faultsJSON.response()
        }
        router.delete("/_sim/faults") { _, _ in
            await state.clearFaults()
            return await state.faultsJSON.response()
        }
        router.get("/_sim/state") { _, _ in
            let snapshot = await state.snapshot(now: Date())
            guard let booter else { return snapshot.response() }
            return withDTMA(snapshot, await booter.statuses()).response()
        }
        router.post("/_sim/reset") { _, _ in
            await state.reset()
            return await state.snapshot(now: Date()).response()
        }
    }

    /// The snapshot with `dtma` added to every droplet that booted.
    private static func withDTMA(_ snapshot: JSONValue, _ statuses: [Int: JSONValue]) -> JSONValue {
        guard case .object(let members) = snapshot else { return snapshot }
        return .object(
            members.map { key, value in
                guard key == "droplets", let droplets = value.array else { return (key, value) }
                return (key, .array(droplets.map { droplet in droplet["id"]?.int.flatMap { statuses[$0] }.map { droplet.adding([("dtma", $0)]) } ?? droplet }))
            })
    }
}
