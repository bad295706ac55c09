import Foundation

/// Splits a byte stream into lines (Docker's JSON streams put one object on each line).
struct JSONLines {
    private var buffer: [UInt8] = []

    /// Adds a piece of the stream and returns the complete lines it finished, without empty ones.
    mutating func append(_ piece: [UInt8]) -> [[UInt8]] {
        buffer += piece
        var lines: [[UInt8]] = []
        var start = 0
        while let newline = buffer[start...].firstIndex(of: 10) {
            let line = Array(buffer[start..<newline])
            if line.contains(where: { $0 != 32 && $0 != 13 && $0 != 9 }) { lines.append(line) }
            start = newline + 1
        }
        buffer.removeFirst(start)
        return lines
    }

    /// What is left after the stream ended: a last line without its newline.
    mutating func finish() -> [[UInt8]] {
        defer { buffer = [] }
        return buffer.contains(where: { $0 != 32 && $0 != 13 && $0 != 9 && $0 != 10 }) ? [buffer] : []
    }
}
