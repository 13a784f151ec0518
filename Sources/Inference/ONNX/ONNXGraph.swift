/// A constant tensor from an ONNX model (an initializer or a `Constant` node), converted to
/// native element arrays. Only the element types ResNet graphs use are kept.
struct ONNXTensor: Sendable {
    enum Elements: Sendable {
        case float([Float])
        case int64([Int64])
    }

    var name: String
    /// Dimensions, outermost first (empty for a scalar).
    var shape: [Int]
    var elements: Elements

    var elementCount: Int { shape.reduce(1, *) }

    var floats: [Float]? {
        if case .float(let values) = elements { return values }
        return nil
    }

    var ints: [Int64]? {
        switch elements {
        case .int64(let values): return values
        case .float(let values): return values.map { Int64($0) }
        }
    }
}

/// One attribute of a node, converted from the protobuf form.
enum ONNXAttribute: Sendable {
    case int(Int64)
    case float(Float)
    case ints([Int64])
    case floats([Float])
    case string(String)
    case tensor(ONNXTensor)
    /// An attribute kind the engine never reads (graphs, sparse tensors, ...), named for errors.
    case unsupported(String)
}

/// One operator node, in the graph's topological order.
struct ONNXNode: Sendable {
    var name: String
    var opType: String
    var domain: String
    var inputs: [String]
    var outputs: [String]
    var attributes: [String: ONNXAttribute]

    /// The node as it should appear in error messages.
    var label: String { name.isEmpty ? "\(opType) node producing '\(outputs.first ?? "?")'" : "node '\(name)' (\(opType))" }
}

/// A declared graph input: its name and dimensions (nil for a symbolic dimension such as a batch).
struct ONNXValueInfo: Sendable {
    var name: String
    var dims: [Int?]
}

/// The parts of an ONNX model the engine builds a network from.
struct ONNXGraph: Sendable {
    /// Opset version of the default (`ai.onnx`) domain.
    var opset: Int
    var producer: String
    var inputs: [ONNXValueInfo]
    var outputs: [String]
    var initializers: [String: ONNXTensor]
    var nodes: [ONNXNode]
}
