/// The one error type of BinCore: a code to match on and a message that names the file, line or
/// key at fault.
public struct BinCoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A label-map or labels file is malformed.
        case mapSyntax
        /// A label map is well-formed but inconsistent (duplicate or missing index, bad bin name).
        case mapContent
        /// The configuration is inconsistent (e.g. the fallback bin has no flap angle).
        case invalidConfig
        /// A command or reading names a compartment the bin does not have.
        case unknownCompartment
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// An error at `file:line`, as editors and compilers print it.
    public static func at(_ code: Code, file: String, line: Int, _ message: String) -> BinCoreError {
        BinCoreError(code, "\(file):\(line): \(message)")
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
