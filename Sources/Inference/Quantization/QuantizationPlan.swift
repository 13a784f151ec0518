/// Per-tensor affine quantisation of an activation: real = scale * (q - zeroPoint), q in 0...255.
public struct TensorQuantization: Codable, Sendable, Hashable {
    public var scale: Float
    public var zeroPoint: Int32

    public init(scale: Float, zeroPoint: Int32) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// The uint8 affine mapping of the real range [low, high], widened to contain 0 so that
    /// zero (ReLU's floor, the padding value) is exact.
    public init(low: Float, high: Float) {
        let lo = min(low, 0), hi = max(high, 0)
        let scale = max((hi - lo) / 255, 1e-8)
        self.scale = scale
        zeroPoint = Int32(max(0, min(255, (-lo / scale).rounded(.toNearestOrEven))))
    }

    /// The quantised value of `x` (round half to even, clamped), as ONNX QuantizeLinear.
    public func quantize(_ x: Float) -> UInt8 {
        UInt8(max(0, min(255, (x / scale).rounded(.toNearestOrEven) + Float(zeroPoint))))
    }
}

/// One convolution's int8 weights: symmetric per output channel, real = scales[m] * q.
public struct QuantizedConvWeights: Codable, Sendable {
    /// Index of the convolution in the plan's layer list.
    public var layer: Int
    /// Offset and count in the int8 weight arena ([outChannels, reduction], row-major).
    public var offset: Int
    public var count: Int
    /// One scale per output channel.
    public var scales: [Float]
    /// The bias the int8 engine adds, int32 in units of `inputScale * scales[m]` (the
    /// accumulator's units, as ONNX QLinearConv and a QDQ Conv's DequantizeLinear bias), after
    /// bias correction. Absent in format-1 files: the engine then quantises the fp32 bias.
    public var bias: [Int32]?

    /// `bias` in real units (fp32), given the convolution's input scale.
    public func realBias(inputScale: Float) -> [Float]? {
        bias.map { zip($0, scales).map { Float($0) * (inputScale * $1) } }
    }

    /// An fp32 bias quantised to int32 in units of `inputScale * scales[m]` (round half to even,
    /// saturated), as ONNX quantises a Conv bias.
    public static func int32Bias(_ bias: [Float], inputScale: Float, scales: [Float]) -> [Int32] {
        zip(bias, scales).map { b, s in
            let q = (Double(b) / Double(inputScale * s)).rounded(.toNearestOrEven)
            return Int32(max(Double(Int32.min), min(Double(Int32.max), q)))
        }
    }
}

/// The bias of a dense layer (the classifier head) after bias correction, fp32.
public struct DenseBias: Codable, Sendable {
    /// Index of the dense layer in the plan's layer list.
    public var layer: Int
    public var bias: [Float]
}

/// How the calibration ranges were chosen and what was measured while choosing.
public struct CalibrationSummary: Codable, Sendable {
    /// One candidate range method and the fidelity the int8 network reached with it.
    public struct Candidate: Codable, Sendable {
        public var method: String
        public var meanCosine: Double
        public var minCosine: Double
        public var top1Agreement: Double
        /// Median cosine (absent in files written before it was recorded).
        public var medianCosine: Double?
    }
    public var images: Int
    public var method: String
    public var candidates: [Candidate]
    public var firstConvFP32: Bool
    /// Whether the biases were corrected for the quantisation's mean shift (`BiasCorrection`);
    /// absent in format-1 files.
    public var biasCorrection: Bool?
    /// Whether projection shortcuts are added to their block's output in fp32 before it is
    /// requantised (their own output never rounded); absent in format-1 files (false).
    public var projectionsFP32: Bool?
    /// Observed [min, max] of every activation over the calibration images, by activation id
    /// (nil for activations the int8 engine does not keep as uint8).
    public var observed: [[Float]?]
}

/// Everything the int8 engine needs beyond the fp32 plan: the uint8 parameters of each
/// activation it keeps as uint8, the int8 weights of each convolution it runs in int8, and
/// the calibration summary.
public struct QuantizationPlan: Codable, Sendable {
    /// By activation id: its uint8 quantisation, or nil when it stays fp32 (the input when the
    /// first convolution runs in fp32, the pooled features, the logits).
    public var activations: [TensorQuantization?]
    /// The convolutions run in int8 (the others, e.g. a first conv kept fp32, use fp32 weights).
    public var convs: [QuantizedConvWeights]
    public var calibration: CalibrationSummary
    /// Bytes of the int8 weight arena.
    public var int8Count: Int
    /// Corrected biases of dense layers run with int8 weights (absent: the fp32 bias).
    public var denseBiases: [DenseBias]?
}
