import Foundation

/// A datacenter region.
struct Region: Sendable, Equatable {
    let slug: String
    let name: String
    let available: Bool
    /// The region's default VPC, given to droplets created without `vpc_uuid`.
    let defaultVPC: String
    static let features = ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"]
}

/// A droplet plan.
struct Size: Sendable, Equatable {
    let slug: String
    /// MiB.
    let memory: Int
    let vcpus: Int
    /// GB.
    let disk: Int
    /// TB a month.
    let transfer: Double
    let priceMonthly: Double
    let priceHourly: Double
    /// Slugs of the regions that offer it.
    let regions: [String]
    let available: Bool
    let description: String
}

/// A public distribution image.
struct Image: Sendable, Equatable {
    let id: Int
    let slug: String
    let name: String
    let distribution: String
    let minDiskSize: Int
    let sizeGigabytes: Double
    let createdAt: String
    let description: String
}

/// The regions, sizes and images the stand-in offers, with consistent cross references:
/// a size lists the regions that offer it, and a region lists exactly the sizes that name it.
struct Catalog: Sendable {
    let regions: [Region]
    let sizes: [Size]
    let images: [Image]

    static let standard: Catalog = {
        let open = ["nyc1", "nyc3", "sfo3", "ams3", "fra1", "lon1"]
        func size(_ slug: String, _ memory: Int, _ vcpus: Int, _ disk: Int, _ transfer: Double, _ monthly: Double, in regions: [String] = open)
            -> Size
        {
            Size(
                slug: slug, memory: memory, vcpus: vcpus, disk: disk, transfer: transfer, priceMonthly: monthly,
                priceHourly: (monthly / 672 * 100_000).rounded() / 100_000, regions: regions, available: true, description: "Basic")
        }
        return Catalog(
            regions: [
                Region(slug: "nyc1", name: "New York 1", available: true, defaultVPC: "6f3c2b8e-1a4d-4c55-9a1e-0b7d9e2f4a11"),
                Region(slug: "nyc2", name: "New York 2", available: false, defaultVPC: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d2"),
                Region(slug: "nyc3", name: "New York 3", available: true, defaultVPC: "8a7b6c5d-4e3f-4a1b-9c2d-3e4f5a6b7c13"),
                Region(slug: "sfo3", name: "San Francisco 3", available: true, defaultVPC: "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d24"),
                Region(slug: "ams3", name: "Amsterdam 3", available: true, defaultVPC: "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e35"),
                Region(slug: "fra1", name: "Frankfurt 1", available: true, defaultVPC: "3d4e5f6a-7b8c-4d9e-8f0a-2b3c4d5e6f46"),
                Region(slug: "lon1", name: "London 1", available: true, defaultVPC: "4e5f6a7b-8c9d-4e0f-9a1b-3c4d5e6f7a57"),
            ],
            sizes: [
                size("s-1vcpu-1gb", 1024, 1, 25, 1, 6),
                size("s-1vcpu-2gb", 2048, 1, 50, 2, 12),
                size("s-2vcpu-2gb", 2048, 2, 60, 3, 18),
                size("s-2vcpu-4gb", 4096, 2, 80, 4, 24),
                // Sold out in London, so a client meets "size not in this region".
                size("s-4vcpu-8gb", 8192, 4, 160, 5, 48, in: open.filter { $0 != "lon1" }),
            ],
            images: [
                Image(
                    id: 155_254_211, slug: "debian-12-x64", name: "12 x64", distribution: "Debian", minDiskSize: 7, sizeGigabytes: 0.78,
                    createdAt: "2024-06-10T17:04:45Z", description: "Debian 12 (bookworm) x64"),
                Image(
                    id: 160_357_891, slug: "ubuntu-24-04-x64", name: "24.04 (LTS) x64", distribution: "Ubuntu", minDiskSize: 7, sizeGigabytes: 2.36,
                    createdAt: "2024-08-01T09:12:03Z", description: "Ubuntu 24.04 (LTS) x64"),
                Image(
                    id: 129_211_873, slug: "ubuntu-22-04-x64", name: "22.04 (LTS) x64", distribution: "Ubuntu", minDiskSize: 7, sizeGigabytes: 2.29,
                    createdAt: "2023-04-28T13:56:36Z", description: "Ubuntu 22.04 (LTS) x64"),
            ])
    }()

    func region(_ slug: String) -> Region? { regions.first { $0.slug == slug } }
    func size(_ slug: String) -> Size? { sizes.first { $0.slug == slug } }

    /// An image by slug or by id (as a number or its decimal text).
    func image(_ reference: String) -> Image? { images.first { $0.slug == reference || String($0.id) == reference } }

    /// The slugs of the sizes a region offers.
    func sizeSlugs(in region: Region) -> [String] { sizes.filter { $0.regions.contains(region.slug) }.map(\.slug) }

    /// Where a droplet goes when the create names no region: the first open region that offers the size.
    func defaultRegion(for size: Size) -> Region? { regions.first { $0.available && size.regions.contains($0.slug) } }

    func json(_ region: Region) -> JSONValue {
        [
            "name": .string(region.name), "slug": .string(region.slug), "features": JSONValue(Region.features),
            "available": .bool(region.available), "sizes": JSONValue(sizeSlugs(in: region)),
        ]
    }

    func json(_ size: Size) -> JSONValue {
        [
            "slug": .string(size.slug), "memory": .int(size.memory), "vcpus": .int(size.vcpus), "disk": .int(size.disk),
            "transfer": .double(size.transfer), "price_monthly": .double(size.priceMonthly), "price_hourly": .double(size.priceHourly),
            "regions": JSONValue(size.regions), "available": .bool(size.available), "description": .string(size.description),
        ]
    }

    func json(_ image: Image) -> JSONValue {
        [
            "id": .int(image.id), "name": .string(image.name), "distribution": .string(image.distribution), "slug": .string(image.slug),
            "public": true, "regions": JSONValue(regions.filter(\.available).map(\.slug)), "created_at": .string(image.createdAt),
            "min_disk_size": .int(image.minDiskSize), "type": "base", "size_gigabytes": .double(image.sizeGigabytes),
            "description": .string(image.description), "tags": [], "status": "available", "error_message": "",
        ]
    }
}
