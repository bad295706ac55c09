import Foundation

/// A `POST /v2/droplets` body, checked as DigitalOcean checks it; every refusal is a 422 naming the field.
struct DropletSpec: Sendable {
    let names: [String]
    /// Whether the request gave `names` (answered with `droplets`) rather than `name` (answered with `droplet`).
    let isBatch: Bool
    let size: Size
    let image: Image
    let region: Region
    let tags: [String]
    let userData: String?
    let ipv6: Bool
    let features: [String]
    let vpcUUID: String?

    static let maximumNames = 10
    static let maximumUserDataBytes = 64 * 1024

    init(_ body: JSONValue, catalog: Catalog) throws(StandInError) {
        guard case .object = body else { throw .badRequest("Send the droplet as a JSON object with name, size and image.") }
        names = try Self.names(body)
        isBatch = body["names"] != nil
        size = try Self.size(body, catalog: catalog)
        image = try Self.image(body, catalog: catalog)
        region = try Self.region(body, size: size, catalog: catalog)
        tags = try Self.strings(body["tags"], "tags")
        for tag in tags where !Self.isTag(tag) {
            throw .unprocessable("Tag '\(tag)' is invalid: tags are 1 to 255 letters, digits, '_', '-' or ':'.")
        }
        userData = try Self.string(body["user_data"], "user_data")
        if let userData, userData.utf8.count > Self.maximumUserDataBytes {
            throw .unprocessable("user_data is \(userData.utf8.count) bytes; it must be at most 64 KiB (\(Self.maximumUserDataBytes) bytes).")
        }
        ipv6 = try Self.flag(body["ipv6"], "ipv6") ?? false
        let monitoring = try Self.flag(body["monitoring"], "monitoring") ?? false
        let agent = try Self.flag(body["with_droplet_agent"], "with_droplet_agent") ?? true
        features = ["private_networking"] + (ipv6 ? ["ipv6"] : []) + (monitoring ? ["monitoring"] : []) + (agent ? ["droplet_agent"] : [])
        vpcUUID = try Self.string(body["vpc_uuid"], "vpc_uuid")
        if let vpcUUID, UUID(uuidString: vpcUUID) == nil { throw .unprocessable("vpc_uuid '\(vpcUUID)' is not a UUID.") }
        if let keys = body["ssh_keys"], keys.array?.allSatisfy({ $0.int != nil || $0.string != nil }) != true {
            throw .unprocessable("ssh_keys must be a list of SSH key ids or fingerprints.")
        }
    }

    private static func names(_ body: JSONValue) throws(StandInError) -> [String] {
        let names: [String]
        if body["names"] != nil {
            guard body["name"] == nil else { throw .unprocessable("Send either name or names, not both.") }
            names = try strings(body["names"], "names")
            guard (1...maximumNames).contains(names.count) else { throw .unprocessable("names must list 1 to \(maximumNames) droplet names.") }
        } else {
            guard let name = try string(body["name"], "name") else {
                throw .unprocessable("name is required (or names, a list of up to \(maximumNames)).")
            }
            names = [name]
        }
        for name in names where !isHostname(name) {
            throw .unprocessable("Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)")
        }
        return names
    }

    private static func size(_ body: JSONValue, catalog: Catalog) throws(StandInError) -> Size {
        guard let slug = try string(body["size"], "size") else {
            throw .unprocessable("size is required: a size slug such as s-1vcpu-1gb (GET /v2/sizes lists them).")
        }
        guard let size = catalog.size(slug) else { throw .unprocessable("You specified an invalid size for Droplet creation.") }
        guard size.available else { throw .unprocessable("Size is not available.") }
        return size
    }

    private static func image(_ body: JSONValue, catalog: Catalog) throws(StandInError) -> Image {
        guard let value = body["image"] else { throw .unprocessable("image is required: an image slug such as debian-12-x64, or an image id.") }
        guard let reference = value.string ?? value.int.map(String.init) else {
            throw .unprocessable("image must be an image slug or an integer id.")
        }
        guard let image = catalog.image(reference) else { throw .unprocessable("You specified an invalid image for Droplet creation.") }
        return image
    }

    private static func region(_ body: JSONValue, size: Size, catalog: Catalog) throws(StandInError) -> Region {
        guard let slug = try string(body["region"], "region") else {
            guard let region = catalog.defaultRegion(for: size) else { throw .unprocessable("Size is not available in any region.") }
            return region
        }
        guard let region = catalog.region(slug) else { throw .unprocessable("You specified an invalid region for Droplet creation.") }
        guard region.available else { throw .unprocessable("Region \(slug) is not available; GET /v2/regions shows which are.") }
        guard size.regions.contains(slug) else { throw .unprocessable("Size is not available in this region.") }
        return region
    }

    /// `^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$`, at most 255 characters.
    private static func isHostname(_ name: String) -> Bool {
        guard let last = name.unicodeScalars.last, name.unicodeScalars.count <= 255, isAlphanumeric(last) else { return false }
        return name.unicodeScalars.allSatisfy { isAlphanumeric($0) || $0 == "." || $0 == "-" }
    }

    /// `^[a-zA-Z0-9_\-:]+$`, at most 255 characters.
    private static func isTag(_ tag: String) -> Bool {
        !tag.isEmpty && tag.unicodeScalars.count <= 255 && tag.unicodeScalars.allSatisfy { isAlphanumeric($0) || "_-:".unicodeScalars.contains($0) }
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar))
    }

    private static func string(_ value: JSONValue?, _ name: String) throws(StandInError) -> String? {
        guard let value else { return nil }
        guard let text = value.string else { throw .unprocessable("\(name) must be a string.") }
        return text
    }

    private static func strings(_ value: JSONValue?, _ name: String) throws(StandInError) -> [String] {
        guard let value else { return [] }
        guard let items = value.array, items.allSatisfy({ $0.string != nil }) else { throw .unprocessable("\(name) must be a list of strings.") }
        return items.compactMap(\.string)
    }

    private static func flag(_ value: JSONValue?, _ name: String) throws(StandInError) -> Bool? {
        guard let value else { return nil }
        guard let flag = value.bool else { throw .unprocessable("\(name) must be true or false.") }
        return flag
    }
}
