import Hummingbird

/// `GET /v2/account`: the account, with the droplet limit the stand-in enforces.
enum AccountRoutes {
    static let uuid = "b6fr89dbf6d9156cace5f3c78dc9851d957381ef"

    static func register(on router: Router<StandInContext>, dropletLimit: Int) {
        router.get("/v2/account") { _, _ in
            let account: JSONValue = [
                "droplet_limit": .int(dropletLimit), "floating_ip_limit": 3, "volume_limit": 100, "email": "sammy@example.com", "name": "Sammy",
                "uuid": .string(uuid), "email_verified": true, "status": "active", "status_message": "",
                "team": ["uuid": "5df3e3004a17e242b7c20ca6c9fc25b701a47ece", "name": "My Team"],
            ]
            return JSONValue.object([("account", account)]).response()
        }
    }
}
