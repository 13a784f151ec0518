import Inference

/// The engine behind a `LoadedModel`: the fp32 network or the int8 one.
public enum ModelEngine {
    case fp32(Network)
    case int8(QuantizedNetwork)

    /// "fp32" or "int8", as events and `bench --json` report it.
    public var precision: String {
        switch self {
        case .fp32: return "fp32"
        case .int8: return "int8"
        }
    }

    var inputShape: ActivationShape {
        switch self { case .fp32(let n): return n.inputShape; case .int8(let n): return n.inputShape }
    }
    var inputLayout: InputLayout {
        switch self { case .fp32(let n): return n.inputLayout; case .int8(let n): return n.inputLayout }
    }
    var outputCount: Int {
        switch self { case .fp32(let n): return n.outputCount; case .int8(let n): return n.outputCount }
    }
    var endsWithSoftmax: Bool {
        switch self { case .fp32(let n): return n.endsWithSoftmax; case .int8(let n): return n.endsWithSoftmax }
    }
    var flops: Double {
        switch self { case .fp32(let n): return n.flops; case .int8(let n): return n.flops }
    }
    var threads: Int {
        switch self { case .fp32(let n): return n.threads; case .int8(let n): return n.threads }
    }
    var layerDescriptions: [String] {
        switch self { case .fp32(let n): return n.layerDescriptions; case .int8(let n): return n.layerDescriptions }
    }
    var parameterBytes: Int {
        switch self { case .fp32(let n): return n.parameterBytes; case .int8(let n): return n.parameterBytes }
    }
    var workspaceBytes: Int {
        switch self { case .fp32(let n): return n.workspaceBytes; case .int8(let n): return n.workspaceBytes }
    }
    func setThreads(_ count: Int) {
        switch self { case .fp32(let n): n.setThreads(count); case .int8(let n): n.setThreads(count) }
    }
    func forward(_ x: [Float]) throws -> [Float] {
        switch self { case .fp32(let n): return try n.forward(x); case .int8(let n): return try n.forward(x) }
    }
    func forward(input: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) throws {
        switch self {
        case .fp32(let n): try n.forward(input: input, output: output)
        case .int8(let n): try n.forward(input: input, output: output)
        }
    }
    func profile(_ x: [Float]) throws -> [Network.LayerTiming] {
        switch self { case .fp32(let n): return try n.profile(x); case .int8(let n): return try n.profile(x) }
    }
}
