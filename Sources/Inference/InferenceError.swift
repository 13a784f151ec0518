/// Everything that can go wrong loading or running a model, each naming what it is about.
public struct InferenceError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// The model file is missing or unreadable.
        case fileUnreadable
        /// The bytes are not a valid ONNX protobuf (or are truncated).
        case malformedModel
        /// A node uses an operator or attribute value the engine does not implement.
        case unsupported
        /// Shapes or tensors do not fit together (wrong rank, missing initializer, ...).
        case invalidGraph
        /// The caller's input does not match the model's input.
        case badInput
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
