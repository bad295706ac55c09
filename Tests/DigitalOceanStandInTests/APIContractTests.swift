import Foundation
import Testing

extension StandInTests {
    /// Authentication, headers, the catalog, create validation and unknown routes.
    @Suite struct APIContractTests {
        @Test func refusesMissingAndWrongTokensWithDigitalOceansErrorAndHeaders() async throws {
            let sim = try await StandInProcess.start(["--droplet-limit", "7"])
            for token in [nil, "wrong"] {
                let reply = try await sim.request("GET", "/v2/account", token: token)
                #expect(reply.status == 401)
                #expect(reply.object["id"] as? String == "unauthorized")
                #expect(reply.object["message"] as? String == "Unable to authenticate you")
                #expect(reply.object["request_id"] as? String == reply.headers["x-request-id"])
                #expect(reply.headers["content-type"] == "application/json; charset=utf-8")
                #expect(reply.headers["ratelimit-limit"] == "5000")
            }
            let reply = try await sim.request("GET", "/v2/account")
            #expect(reply.status == 200)
            #expect(reply.object.at("account", "droplet_limit") as? Int == 7)
            #expect(reply.object.at("account", "status") as? String == "active")
            #expect(reply.headers["x-request-id"]?.isEmpty == false)
            let reset = try #require(reply.headers["ratelimit-reset"].flatMap(Int.init))
            #expect(abs(reset - Int(Date().timeIntervalSince1970) - 3600) < 5, "reset is when the request leaves the hour window")
            #expect(reply.headers["ratelimit-remaining"] == "4999")
        }

        @Test func unknownRoutesAndMalformedJSONUseDigitalOceansErrors() async throws {
            let sim = try await StandInProcess.start()
            #expect(try await sim.expect(404, "GET", "/v2/volumes")["id"] as? String == "not_found")
            #expect(try await sim.expect(404, "GET", "/v2/droplets/123")["id"] as? String == "not_found")
            #expect(try await sim.expect(400, "POST", "/v2/droplets", json: #"{"name": "#)["id"] as? String == "bad_request")
            #expect(try await sim.stop() == 0)
        }

        @Test func regionsAndSizesReferToEachOther() async throws {
            let sim = try await StandInProcess.start()
            let regions = try #require(try await sim.expect(200, "GET", "/v2/regions?per_page=200")["regions"] as? [[String: Any]])
            let sizes = try #require(try await sim.expect(200, "GET", "/v2/sizes?per_page=200")["sizes"] as? [[String: Any]])
            #expect(regions.count >= 6 && sizes.count >= 5)
            #expect(regions.contains { $0["available"] as? Bool == false })
            var sizesOfRegion: [String: Set<String>] = [:]
            for region in regions { sizesOfRegion[try #require(region["slug"] as? String)] = Set(try #require(region["sizes"] as? [String])) }
            var pairsFromSizes: Set<String> = []
            for size in sizes {
                let slug = try #require(size["slug"] as? String)
                for key in ["memory", "vcpus", "disk"] { #expect((size[key] as? Int ?? 0) > 0, "\(slug).\(key)") }
                #expect(size["price_monthly"] is Double && size["price_hourly"] is Double && size["transfer"] is Double)
                for region in try #require(size["regions"] as? [String]) { pairsFromSizes.insert("\(slug)@\(region)") }
            }
            let pairsFromRegions = Set(sizesOfRegion.flatMap { region, sizes in sizes.map { "\($0)@\(region)" } })
            #expect(pairsFromSizes == pairsFromRegions)
            #expect(try await sim.expect(200, "GET", "/v2/images/debian-12-x64").at("image", "slug") as? String == "debian-12-x64")
        }

        @Test(arguments: [
            (#""size": "s-1vcpu-1gb", "image": "debian-12-x64""#, "name is required"),
            (#""name": "bad_name", "size": "s-1vcpu-1gb", "image": "debian-12-x64""#, "Only valid hostname characters"),
            (#""name": "ok", "size": "s-64vcpu-1tb", "image": "debian-12-x64""#, "invalid size"),
            (#""name": "ok", "image": "debian-12-x64""#, "size is required"),
            (#""name": "ok", "size": "s-1vcpu-1gb", "image": "windows-11""#, "invalid image"),
            (#""name": "ok", "size": "s-1vcpu-1gb""#, "image is required"),
            (#""name": "ok", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "xyz9""#, "invalid region"),
            (#""name": "ok", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "nyc2""#, "not available"),
            (#""name": "ok", "size": "s-4vcpu-8gb", "image": "debian-12-x64", "region": "lon1""#, "not available in this region"),
            (#""name": "ok", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "tags": ["has space"]"#, "Tag 'has space' is invalid"),
            (#""names": ["a","b","c","d","e","f","g","h","i","j","k"], "size": "s-1vcpu-1gb", "image": "debian-12-x64""#, "1 to 10"),
            (#""name": "ok", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "user_data": "\#(String(repeating: "x", count: 65_537))""#, "64 KiB"),
        ])
        func refusesAnInvalidCreateWith422(fields: String, message: String) async throws {
            let sim = try await StandInProcess.start()
            let body = try await sim.expect(422, "POST", "/v2/droplets", json: "{\(fields)}")
            #expect(body["id"] as? String == "unprocessable_entity")
            #expect((body["message"] as? String)?.contains(message) == true, "\(body)")
            #expect(try await sim.state().droplets.isEmpty)
        }

        @Test func acceptsTheLargestUserDataAndAnImageID() async throws {
            let sim = try await StandInProcess.start()
            let userData = "#cloud-config\n" + String(repeating: "x", count: 65_536 - 14)
            let extra = #", "user_data": "\#(userData.replacingOccurrences(of: "\n", with: "\\n"))", "region": "ams3""#
            _ = try await sim.create("max-user-data", extra: extra)
            let image = try #require(try await sim.expect(200, "GET", "/v2/images/debian-12-x64").at("image", "id") as? Int)
            let body = try await sim.expect(202, "POST", "/v2/droplets", json: #"{"name": "by-id", "size": "s-1vcpu-1gb", "image": \#(image)}"#)
            #expect(body.at("droplet", "image", "slug") as? String == "debian-12-x64")
            #expect(try await sim.state().droplets.first?["user_data"] as? String == userData)
        }

        @Test func enforcesTheAccountDropletLimit() async throws {
            let sim = try await StandInProcess.start(["--droplet-limit", "2"])
            let pair = #"{"names": ["a", "b"], "size": "s-1vcpu-1gb", "image": "debian-12-x64"}"#
            let body = try await sim.expect(202, "POST", "/v2/droplets", json: pair)
            #expect((body["droplets"] as? [[String: Any]])?.count == 2)
            #expect(((body["links"] as? [String: Any])?["actions"] as? [[String: Any]])?.allSatisfy { $0["rel"] as? String == "create" } == true)
            let refused = try await sim.expect(422, "POST", "/v2/droplets", json: #"{"name": "c", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}"#)
            #expect((refused["message"] as? String)?.contains("droplet limit") == true)
            #expect(try await sim.state().droplets.count == 2)
        }
    }
}
