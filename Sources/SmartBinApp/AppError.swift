/// An error of the application layer (configuration, files, wiring) with a message that names
/// the file, key or value at fault.
public struct AppError: Error, CustomStringConvertible, Sendable {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
