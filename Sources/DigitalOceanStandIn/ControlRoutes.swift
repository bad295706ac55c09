import Foundation
import Hummingbird

/// The control API under `/_sim/` for tests and people: faults, a view of the whole state, and a reset.
enum ControlRoutes {
    static func register(on router: Router<StandInContext>, state: StandInState) {
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
            await state.snapshot(now: Date()).response()
        }
        router.post("/_sim/reset") { _, _ in
            await state.reset()
            return await state.snapshot(now: Date()).response()
        }
    }
}
