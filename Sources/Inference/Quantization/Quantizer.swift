/// Post-training static quantisation of a `NetworkPlan`: weights symmetric int8 per output
/// channel (from the BN-folded fp32 weights), activations uint8 per tensor from calibration.
///
/// Which activations become uint8: every convolution's output (after its fused residual add and
/// ReLU), max pool and pad outputs (which inherit their input's parameters: both are exact on
/// uint8), and the network input unless the first convolution stays fp32. Pooled features and
/// the classifier head stay fp32.
enum Quantizer {
    static func quantize(_ plan: NetworkPlan, statistics: CalibrationStatistics, method: RangeMethod,
                         firstConvFP32: Bool, quantizeProjections: Bool = false, path: String) throws(InferenceError) -> (QuantizationPlan, [Int8]) {
        var activations = [TensorQuantization?](repeating: nil, count: plan.shapes.count)
        func chosen(_ id: Int) -> TensorQuantization {
            let r = statistics.range(id, method)
            return TensorQuantization(low: r.low, high: r.high)
        }
        var convs: [QuantizedConvWeights] = []
        var int8: [Int8] = []
        for (index, layer) in plan.layers.enumerated() {
            switch layer {
            case .conv(let conv):
                let fp32Conv = firstConvFP32 && conv.input == plan.input
                if fp32Conv {
                    if conv.residual != nil {
                        throw InferenceError(.unsupported, "\(path): layer \(index): an fp32 first convolution with a residual add is not supported by the int8 engine")
                    }
                } else {
                    if activations[conv.input] == nil {
                        guard conv.input == plan.input else {
                            throw InferenceError(.unsupported, "\(path): layer \(index) (\(layer.name)) reads activation \(conv.input), which the int8 engine keeps in fp32")
                        }
                        activations[conv.input] = chosen(conv.input)
                    }
                    if let r = conv.residual, activations[r] == nil {
                        throw InferenceError(.unsupported, "\(path): layer \(index) (\(layer.name)) adds activation \(r), which the int8 engine keeps in fp32")
                    }
                    let (m, k) = (conv.outChannels, conv.reduction)
                    while int8.count % 64 != 0 { int8.append(0) }
                    let offset = int8.count
                    var scales = [Float](repeating: 1, count: m)
                    for row in 0..<m {
                        let base = conv.weights.offset + row * k
                        var amax: Float = 0
                        for i in 0..<k { amax = max(amax, abs(plan.parameters[base + i])) }
                        let scale = amax > 0 ? amax / 127 : 1
                        scales[row] = scale
                        for i in 0..<k {
                            let q = (plan.parameters[base + i] / scale).rounded(.toNearestOrEven)
                            int8.append(Int8(max(-127, min(127, q))))
                        }
                    }
                    let bias = (0..<m).map { plan.parameters[conv.bias.offset + $0] }
                    convs.append(QuantizedConvWeights(layer: index, offset: offset, count: m * k, scales: scales,
                                                      bias: QuantizedConvWeights.int32Bias(bias, inputScale: activations[conv.input]!.scale, scales: scales)))
                }
                activations[conv.output] = chosen(conv.output)
            case .maxPool(let input, let output, _):
                guard let q = activations[input] else {
                    throw InferenceError(.unsupported, "\(path): layer \(index) (maxpool) reads an fp32 activation in the int8 engine")
                }
                activations[output] = q
            case .pad(let input, let output, _, _, _):
                guard let q = activations[input] else {
                    throw InferenceError(.unsupported, "\(path): layer \(index) (pad) reads an fp32 activation in the int8 engine")
                }
                activations[output] = q
            case .globalAveragePool(let input, _, _, _):
                guard activations[input] != nil else {
                    throw InferenceError(.unsupported, "\(path): layer \(index) (global_avgpool) reads an fp32 activation in the int8 engine")
                }
            case .averagePool(let input, _, let w, _):
                guard activations[input] != nil, QuantizedNetwork.isGlobal(w) else {
                    throw InferenceError(.unsupported, "\(path): layer \(index) (avgpool): the int8 engine runs average pooling only over the whole plane")
                }
            case .dense(let d):
                guard activations[d.input] == nil else {
                    throw InferenceError(.unsupported, "\(path): layer \(index) (dense) reads a uint8 activation; the int8 engine's classifier head takes pooled fp32 features")
                }
            case .softmax:
                break
            case .add, .affine, .relu:
                throw InferenceError(.unsupported, "\(path): layer \(index) (\(layer.name)) was not fused into a convolution; the int8 engine runs fused ResNet graphs only (compile without --int8 for fp32)")
            }
        }
        while int8.count % 64 != 0 { int8.append(0) }
        if !quantizeProjections {
            for pair in projectionPairs(plan, int8Layers: Set(convs.map(\.layer))) { activations[pair.shortcutOutput] = nil }
        }
        let observed: [[Float]?] = activations.indices.map { id in
            activations[id] == nil ? nil : [statistics.minimum[id], statistics.maximum[id]]
        }
        let summary = CalibrationSummary(images: statistics.images, method: method.description, candidates: [],
                                         firstConvFP32: firstConvFP32, biasCorrection: false,
                                         projectionsFP32: !quantizeProjections, observed: observed)
        return (QuantizationPlan(activations: activations, convs: convs, calibration: summary, int8Count: int8.count), int8)
    }

    /// A residual block's last convolution and the projection (shortcut) convolution whose
    /// output it adds: the int8 engine can add the two in fp32 before one requantisation
    /// (`sb_u8_conv_pair`), so the projection's output is never rounded to uint8.
    struct ProjectionPair {
        /// Layer index of the block's last convolution (the one with the residual add).
        var block: Int
        /// Layer index of the projection convolution.
        var shortcut: Int
        /// The projection's output activation (read by `block` only, as its residual).
        var shortcutOutput: Int
    }

    /// Every pair of int8 convolutions (in `int8Layers`) where one adds, as its residual, the
    /// output of the other, that output having no other reader and the projection having
    /// neither ReLU nor a residual of its own.
    static func projectionPairs(_ plan: NetworkPlan, int8Layers: Set<Int>) -> [ProjectionPair] {
        var producer: [Int: Int] = [:], readers: [Int: Int] = [:]
        for (index, layer) in plan.layers.enumerated() {
            producer[layer.output] = index
            for input in layer.inputs { readers[input, default: 0] += 1 }
        }
        var pairs: [ProjectionPair] = []
        for (index, layer) in plan.layers.enumerated() {
            guard case .conv(let block) = layer, int8Layers.contains(index), let r = block.residual, r != block.input,
                  let p = producer[r], int8Layers.contains(p), readers[r] == 1, r != plan.output,
                  case .conv(let shortcut) = plan.layers[p], !shortcut.relu, shortcut.residual == nil,
                  shortcut.outChannels == block.outChannels, shortcut.outputPlane == block.outputPlane else { continue }
            pairs.append(ProjectionPair(block: index, shortcut: p, shortcutOutput: r))
        }
        return pairs
    }
}
