/// An error a client command reports as `Error: <message>` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let message: String

    init(_ message: String) { self.message = message }

    var description: String { message }
}
