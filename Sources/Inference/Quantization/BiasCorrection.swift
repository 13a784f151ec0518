import CKernels

/// Empirical bias correction of an int8 model (Nagel et al. 2019, "Data-Free Quantization
/// Through Weight Equalization and Bias Correction", §4.2; measured on the calibration images
/// rather than derived from BatchNorm statistics, and applied layer by layer in order).
///
/// Quantisation shifts the mean of a layer's output channels: rounded weights
/// (`E[(Wq - W) x] != 0`), activations clipped and rounded upstream (`E[xq] != E[x]`), a
/// residual's own shift. Zero-mean rounding noise averages out through the network; a mean
/// shift does not. For each int8 convolution, in execution order, the mean of every unfold row
/// (the mean input each weight sees, padding included) and of every residual channel is measured
/// over the calibration images in the fp32 network and in the int8 network — the latter with
/// every earlier correction already applied — and the output channel's bias is moved by the
/// difference of the pre-activation means:
///
///     b'[m] = b[m] - (sum_k Wq[m,k] E[xq_k] + E[rq_m]  -  sum_k W[m,k] E[x_k] - E[r_m])
///
/// then stored as int32 in accumulator units. The classifier head (int8 weights) gets the same
/// treatment on its outputs. All images advance through the int8 network together, one layer at
/// a time (`QuantizedNetwork.LayerStepper`), so the whole correction costs about one int8 pass
/// per image plus one fp32 pass, and one activation arena per image of memory.
///
/// (Correcting every layer at once from one measurement of the uncorrected network does not
/// work: each layer then also compensates shifts its predecessors no longer have, and on
/// ResNet50 the over-corrections compound — worst-photo cosine 0.989 → 0.88.)
enum BiasCorrection {
    /// Mean inputs of the int8 convolutions and mean outputs of the dense layers, by layer index.
    struct Means {
        /// Unfold row means of each convolution's input, [reduction].
        var rows: [Int: [Double]] = [:]
        /// Channel means of each convolution's residual, [outChannels].
        var residual: [Int: [Double]] = [:]
        /// Output means of each dense layer, [outFeatures].
        var dense: [Int: [Double]] = [:]
    }

    /// Most images the correction steps through together (one activation arena each); more
    /// calibration images are sampled evenly down to this.
    static let maximumImages = 64

    /// Corrects every int8 convolution's bias and every int8 dense layer's bias of `model` in place.
    static func correct(_ model: inout Int8Model, network: Network, inputs allInputs: [[Float]]) throws(InferenceError) {
        let inputs = allInputs.count <= maximumImages ? allInputs
            : (0..<maximumImages).map { allInputs[$0 * allInputs.count / maximumImages] }
        let plan = network.plan
        var convIndex: [Int: Int] = [:]
        for (i, w) in model.quantization.convs.enumerated() { convIndex[w.layer] = i }
        let reference = try fp32Means(network, convs: Set(convIndex.keys), inputs: inputs)
        let engine = try network.int8Network(model)
        let stepper = try QuantizedNetwork.LayerStepper(engine, inputs: inputs)
        var denseBiases: [DenseBias] = []
        for index in plan.layers.indices {
            switch plan.layers[index] {
            case .conv(let conv):
                guard let i = convIndex[index], let x0 = reference.rows[index], let input = model.quantization.activations[conv.input] else { break }
                // A projection added in fp32 before requantisation is not a uint8 residual: its
                // own bias carries its correction.
                let residualQ = conv.residual.flatMap { model.quantization.activations[$0] != nil ? $0 : nil }
                var rows = [Double](repeating: 0, count: conv.reduction)
                var residual = [Double](repeating: 0, count: conv.outChannels)
                for image in 0..<stepper.count {
                    if case .u8(let x, let q) = try stepper.activation(conv.input, image: image) {
                        add(rowSumsOf: x, q, window: conv.window, into: &rows)
                    }
                    if let r = residualQ, case .u8(let y, let q) = try stepper.activation(r, image: image) {
                        add(rowSumsOf: y, q, window: channelWindow(plan.shapes[r]), into: &residual)
                    }
                }
                let n = Double(conv.outputPlane * stepper.count)
                let w = model.quantization.convs[i]
                let k = conv.reduction
                var corrected = [Float](repeating: 0, count: conv.outChannels)
                for m in 0..<conv.outChannels {
                    var int8Mean = 0.0, fp32Mean = 0.0
                    for j in 0..<k {
                        int8Mean += Double(model.weights[w.offset + m * k + j]) * rows[j]
                        fp32Mean += Double(plan.parameters[conv.weights.offset + m * k + j]) * x0[j]
                    }
                    int8Mean = int8Mean * Double(w.scales[m]) / n
                    if residualQ != nil { int8Mean += residual[m] / n; fp32Mean += reference.residual[index]?[m] ?? 0 }
                    corrected[m] = Float(Double(plan.parameters[conv.bias.offset + m]) - (int8Mean - fp32Mean))
                }
                let bias = QuantizedConvWeights.int32Bias(corrected, inputScale: input.scale, scales: w.scales)
                model.quantization.convs[i].bias = bias
                engine.setInt8Bias(layer: index, bias)
            case .dense(let dense) where !dense.relu && engine.heads[index] != nil:
                try stepper.step()
                guard let target = reference.dense[index] else { continue }
                var sums = [Double](repeating: 0, count: dense.outFeatures)
                for image in 0..<stepper.count {
                    if case .f32(let y) = try stepper.activation(dense.output, image: image) {
                        for o in sums.indices { sums[o] += Double(y[o]) }
                    }
                }
                let original = dense.bias.map { b in (0..<dense.outFeatures).map { plan.parameters[b.offset + $0] } }
                    ?? [Float](repeating: 0, count: dense.outFeatures)
                let corrected = (0..<dense.outFeatures).map { o in
                    Float(Double(original[o]) - (sums[o] / Double(stepper.count) - target[o]))
                }
                denseBiases.append(DenseBias(layer: index, bias: corrected))
                engine.setDenseBias(layer: index, corrected)
                continue
            default:
                break
            }
            try stepper.step()
        }
        model.quantization.denseBiases = denseBiases.isEmpty ? nil : denseBiases
        model.quantization.calibration.biasCorrection = true
    }

    /// The means over `inputs` of the fp32 network: unfold rows and residuals of the layers in
    /// `convs`, outputs of every dense layer.
    static func fp32Means(_ network: Network, convs: Set<Int>, inputs: [[Float]]) throws(InferenceError) -> Means {
        let plan = network.plan
        // For each activation id, the listed convolutions reading it (true: as their residual).
        var readers: [Int: [(layer: Int, residual: Bool)]] = [:]
        var denseOutputs: [Int: Int] = [:]
        for (index, layer) in plan.layers.enumerated() {
            if case .conv(let conv) = layer, convs.contains(index) {
                readers[conv.input, default: []].append((index, false))
                if let r = conv.residual { readers[r, default: []].append((index, true)) }
            }
            if case .dense(let dense) = layer { denseOutputs[dense.output] = index }
        }
        var means = Means()
        for x in inputs {
            try network.forward(x) { id, values in
                for (layer, isResidual) in readers[id] ?? [] {
                    guard case .conv(let conv) = plan.layers[layer] else { continue }
                    var window = isResidual ? channelWindow(plan.shapes[id]) : conv.window
                    let count = isResidual ? conv.outChannels : conv.reduction
                    var sums = (isResidual ? means.residual[layer] : means.rows[layer]) ?? [Double](repeating: 0, count: count)
                    sums.withUnsafeMutableBufferPointer { sb_unfold_row_sums(values.baseAddress, &window, $0.baseAddress) }
                    if isResidual { means.residual[layer] = sums } else { means.rows[layer] = sums }
                }
                if let layer = denseOutputs[id] {
                    var sums = means.dense[layer] ?? [Double](repeating: 0, count: values.count)
                    for o in sums.indices { sums[o] += Double(values[o]) }
                    means.dense[layer] = sums
                }
            }
        }
        for (layer, sums) in means.rows {
            guard case .conv(let conv) = plan.layers[layer] else { continue }
            means.rows[layer] = sums.map { $0 / Double(conv.outputPlane * inputs.count) }
        }
        for (layer, sums) in means.residual {
            guard case .conv(let conv) = plan.layers[layer] else { continue }
            means.residual[layer] = sums.map { $0 / Double(conv.outputPlane * inputs.count) }
        }
        for (layer, sums) in means.dense { means.dense[layer] = sums.map { $0 / Double(inputs.count) } }
        return means
    }

    /// A 1x1 window over `shape`: its unfold row sums are the channel sums.
    static func channelWindow(_ shape: ActivationShape) -> sb_window {
        sb_window(channels: Int32(shape.channels), in_h: Int32(shape.height), in_w: Int32(shape.width), k_h: 1, k_w: 1,
                  stride_h: 1, stride_w: 1, pad_top: 0, pad_left: 0, pad_bottom: 0, pad_right: 0,
                  out_h: Int32(shape.height), out_w: Int32(shape.width))
    }

    /// Adds the dequantised unfold row sums of uint8 `x` (through `window`) to `sums`.
    static func add(rowSumsOf x: UnsafeBufferPointer<UInt8>, _ q: TensorQuantization, window: sb_window, into sums: inout [Double]) {
        var window = window
        var local = [Double](repeating: 0, count: sums.count)
        local.withUnsafeMutableBufferPointer { sb_unfold_row_sums_u8(x.baseAddress, &window, q.zeroPoint, $0.baseAddress) }
        for k in sums.indices { sums[k] += local[k] * Double(q.scale) }
    }
}
