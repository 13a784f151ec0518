/// A quantised model's int8 side: the quantisation plan and the unpacked int8 weight arena
/// (what `.sbm` stores; packing for the CPU's kernel happens at load).
public struct Int8Model: Sendable {
    public var quantization: QuantizationPlan
    /// Weights of every int8 conv, [outChannels, reduction] row-major at `QuantizedConvWeights.offset`.
    public var weights: [Int8]
}

extension Network {
    /// Internal view of the fp32 weight arena (conv biases and the head for the int8 engine).
    var weightArena: (pointer: UnsafeMutablePointer<Float>, count: Int) { (parametersPointer, parameterBytes / 4) }

    /// Quantises this network with calibration `statistics` (collected from this network).
    /// - Parameters:
    ///   - method: how each activation's range is chosen from its statistics.
    ///   - firstConvFP32: keep the convolution reading the image in fp32 (its output is quantised).
    ///   - quantizeProjections: round projection shortcuts' outputs to uint8 (as format 1 did)
    ///     instead of adding them in fp32 before the block's requantisation.
    /// - Throws: `InferenceError(.unsupported)` naming the layer the int8 engine cannot run.
    public func quantize(statistics: CalibrationStatistics, method: RangeMethod, firstConvFP32: Bool,
                         quantizeProjections: Bool = false) throws(InferenceError) -> Int8Model {
        let (q, w) = try Quantizer.quantize(plan, statistics: statistics, method: method, firstConvFP32: firstConvFP32,
                                            quantizeProjections: quantizeProjections, path: "model")
        return Int8Model(quantization: q, weights: w)
    }

    /// An int8 engine for `model`, sharing this network's fp32 biases and head.
    public func int8Network(_ model: Int8Model) throws(InferenceError) -> QuantizedNetwork {
        let arena = weightArena
        return try model.weights.withUnsafeBufferPointer { (int8) throws(InferenceError) in
            try QuantizedNetwork(plan: plan, quantization: model.quantization, parameters: arena.pointer,
                                 parameterCount: arena.count, int8: int8.baseAddress!, owner: self)
        }
    }
}
