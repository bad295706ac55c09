import Foundation
import Hummingbird

/// JSON bodies of the API: snake_case keys chosen by each view, sorted for stable output.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let decoder = JSONDecoder()

    /// A response with `value` as its JSON body, written by `encoder` (the API's, or the DTMA protocol's).
    static func encode(_ value: some Encodable, status: HTTPResponse.Status = .ok, encoder: JSONEncoder = JSONResponse.encoder) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
