/// The one error type of the Simulation module; messages name the file and line or path at fault.
public struct SimulationError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A trigger script line could not be understood.
        case scriptSyntax
        /// A file or folder could not be read.
        case unreadable
        /// An image folder holds no `.jpg`/`.jpeg` file.
        case noImages
        /// An image could not be decoded.
        case decode
        /// A parameter is out of range.
        case invalidArgument
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
