import CKernels

/// Shape of one activation (batch 1): `channels` planes of `height` x `width` floats.
/// Vectors (after flatten or pooling) are `channels` x 1 x 1.
public struct ActivationShape: Sendable, Hashable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int = 1, width: Int = 1) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var plane: Int { height * width }
    public var count: Int { channels * height * width }
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// A run of floats inside the parameter arena.
struct ParameterSlice: Sendable, Hashable {
    var offset: Int
    var count: Int
}

/// How a convolution reaches its GEMM.
enum ConvStrategy: String, Sendable {
    /// 1x1, stride 1, no padding: the input planes already are the GEMM's B operand.
    case direct
    /// 1x1 with stride: gather every stride-th pixel, then GEMM.
    case subsample
    /// Any other window: unfold into columns, then GEMM.
    case im2col
    /// 3x3, stride 1, padding 1, at least `minimumWinogradTiles` 4x4 output tiles: Winograd
    /// F(4x4, 3x3) (`sb_winograd.h`), weights transformed at load. The int8 engine, and the fp32
    /// engine with `SMARTBIN_WINOGRAD=0`, run it as `im2col`.
    case winograd

    /// Below this many output tiles (e.g. 14x14 -> 16, 7x7 -> 4) the 36 GEMMs are too thin
    /// (N = tiles) and stream 4x the weights; im2col measured as fast or faster there.
    static let minimumWinogradTiles = 25

    /// The strategy for a convolution with this window (groups and dilations are 1).
    static func choose(_ w: sb_window) -> ConvStrategy {
        let pads = [w.pad_top, w.pad_left, w.pad_bottom, w.pad_right]
        if w.k_h == 1 && w.k_w == 1 && pads == [0, 0, 0, 0] { return w.stride_h == 1 && w.stride_w == 1 ? .direct : .subsample }
        let tiles = Int((w.out_h + 3) / 4) * Int((w.out_w + 3) / 4)
        if w.k_h == 3 && w.k_w == 3 && w.stride_h == 1 && w.stride_w == 1 && pads == [1, 1, 1, 1]
            && tiles >= minimumWinogradTiles { return .winograd }
        return .im2col
    }

    /// The strategy for a GEMM-only engine (no Winograd): `.winograd` becomes `.im2col`.
    var withoutWinograd: ConvStrategy { self == .winograd ? .im2col : self }
}

/// A convolution with everything folded in: BN into weights and bias, then bias, the residual
/// add and ReLU applied in one epilogue pass after the GEMM.
struct ConvLayer: Sendable {
    var input: Int
    var output: Int
    var residual: Int?
    var relu: Bool
    var window: sb_window
    var outChannels: Int
    /// Weights [outChannels, inChannels * kH * kW], row-major (the ONNX layout flattened).
    var weights: ParameterSlice
    /// One bias per output channel (zeros when the model had none and no BN was folded).
    var bias: ParameterSlice
    var strategy: ConvStrategy

    var reduction: Int { Int(window.channels * window.k_h * window.k_w) }
    var outputPlane: Int { Int(window.out_h * window.out_w) }
    /// Multiply-adds times two.
    var flops: Double { 2 * Double(outChannels) * Double(reduction) * Double(outputPlane) }
}

/// A fully connected layer y = W x + b (ONNX Gemm or MatMul + Add).
struct DenseLayer: Sendable {
    var input: Int
    var output: Int
    var inFeatures: Int
    var outFeatures: Int
    /// Weights [outFeatures, inFeatures], row-major.
    var weights: ParameterSlice
    var bias: ParameterSlice?
    var relu: Bool
}

/// One step of the compiled network, reading and writing activations by id.
enum Layer: Sendable {
    case conv(ConvLayer)
    case maxPool(input: Int, output: Int, window: sb_window)
    case averagePool(input: Int, output: Int, window: sb_window, countIncludePad: Bool)
    case globalAveragePool(input: Int, output: Int, channels: Int, plane: Int)
    case add(a: Int, b: Int, output: Int, relu: Bool, count: Int)
    /// A batch normalisation that could not be folded: y = x * scale[c] + shift[c].
    case affine(input: Int, output: Int, scale: ParameterSlice, shift: ParameterSlice, relu: Bool, shape: ActivationShape)
    case relu(input: Int, output: Int, count: Int)
    case pad(input: Int, output: Int, shape: ActivationShape, pads: [Int], value: Float)
    case dense(DenseLayer)
    case softmax(input: Int, output: Int, count: Int)

    var name: String {
        switch self {
        case .conv(let c): return "conv\(c.window.k_h)x\(c.window.k_w)/\(c.window.stride_h)"
        case .maxPool: return "maxpool"
        case .averagePool: return "avgpool"
        case .globalAveragePool: return "global_avgpool"
        case .add: return "add"
        case .affine: return "batchnorm"
        case .relu: return "relu"
        case .pad: return "pad"
        case .dense: return "dense"
        case .softmax: return "softmax"
        }
    }

    var inputs: [Int] {
        switch self {
        case .conv(let c): return c.residual.map { [c.input, $0] } ?? [c.input]
        case .maxPool(let i, _, _), .averagePool(let i, _, _, _), .globalAveragePool(let i, _, _, _),
             .affine(let i, _, _, _, _, _), .relu(let i, _, _), .pad(let i, _, _, _, _), .softmax(let i, _, _):
            return [i]
        case .add(let a, let b, _, _, _): return [a, b]
        case .dense(let d): return [d.input]
        }
    }

    var output: Int {
        switch self {
        case .conv(let c): return c.output
        case .maxPool(_, let o, _), .averagePool(_, let o, _, _), .globalAveragePool(_, let o, _, _),
             .affine(_, let o, _, _, _, _), .relu(_, let o, _), .pad(_, let o, _, _, _), .softmax(_, let o, _),
             .add(_, _, let o, _, _):
            return o
        case .dense(let d): return d.output
        }
    }

    var flops: Double {
        switch self {
        case .conv(let c): return c.flops
        case .dense(let d): return 2 * Double(d.inFeatures) * Double(d.outFeatures)
        default: return 0
        }
    }
}

/// The whole compiled network before memory is laid out: layers, activation shapes and the
/// parameter arena's contents.
struct NetworkPlan: Sendable {
    var layers: [Layer]
    var shapes: [ActivationShape]
    var input: Int
    var output: Int
    var parameters: [Float]
    var inputShape: ActivationShape
    var inputLayout: InputLayout
    var endsWithSoftmax: Bool
    var inputName: String
    var outputName: String
}

/// The element order the source model's input expects. The engine itself always takes NCHW;
/// this says how a caller feeding the original model (e.g. ONNX Runtime) must lay out data.
public enum InputLayout: String, Sendable {
    case nchw
    case nhwc
}
