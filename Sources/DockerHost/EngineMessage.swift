import Foundation

/// The engine's error answer: `{"message": "..."}`.
struct EngineMessage: Decodable {
    let message: String

    /// Docker's message from an error body; the body's text when it is not Docker's JSON.
    static func decode(_ body: [UInt8]) -> String? {
        if let decoded = try? JSONDecoder().decode(EngineMessage.self, from: Data(body)) {
            return decoded.message.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let text = String(decoding: body.prefix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
