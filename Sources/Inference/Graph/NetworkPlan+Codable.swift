import CKernels

/// The model description of a compiled model file: `NetworkPlan` without its parameter values
/// (those live in the file's weight sections), as JSON.
struct PlanDescription: Codable, Sendable {
    struct Window: Codable, Sendable {
        /// channels, in_h, in_w, k_h, k_w, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, out_h, out_w
        var v: [Int32]
        init(_ w: sb_window) {
            v = [w.channels, w.in_h, w.in_w, w.k_h, w.k_w, w.stride_h, w.stride_w, w.pad_top, w.pad_left, w.pad_bottom, w.pad_right, w.out_h, w.out_w]
        }
        var window: sb_window? {
            guard v.count == 13 else { return nil }
            return sb_window(channels: v[0], in_h: v[1], in_w: v[2], k_h: v[3], k_w: v[4], stride_h: v[5], stride_w: v[6],
                             pad_top: v[7], pad_left: v[8], pad_bottom: v[9], pad_right: v[10], out_h: v[11], out_w: v[12])
        }
    }
    /// One layer; `kind` says which of the optional fields are present.
    struct LayerRecord: Codable, Sendable {
        var kind: String
        var inputs: [Int]
        var output: Int
        var relu: Bool?
        var window: Window?
        var outChannels: Int?
        /// Parameter slices as [offset, count] into the fp32 arena.
        var weights: [Int]?
        var bias: [Int]?
        var scale: [Int]?
        var shift: [Int]?
        var strategy: String?
        var residual: Int?
        var countIncludePad: Bool?
        var channels: Int?
        var plane: Int?
        var count: Int?
        var shape: [Int]?
        var pads: [Int]?
        var value: Float?
        var inFeatures: Int?
        var outFeatures: Int?
    }
    var layers: [LayerRecord]
    var shapes: [[Int]]
    var input: Int
    var output: Int
    var parameterCount: Int
    var inputShape: [Int]
    var inputLayout: String
    var endsWithSoftmax: Bool
    var inputName: String
    var outputName: String

    private static func slice(_ s: ParameterSlice) -> [Int] { [s.offset, s.count] }
    private static func shape(_ s: ActivationShape) -> [Int] { [s.channels, s.height, s.width] }

    init(_ plan: NetworkPlan, parameterCount: Int) {
        shapes = plan.shapes.map(Self.shape)
        input = plan.input
        output = plan.output
        self.parameterCount = parameterCount
        inputShape = Self.shape(plan.inputShape)
        inputLayout = plan.inputLayout.rawValue
        endsWithSoftmax = plan.endsWithSoftmax
        inputName = plan.inputName
        outputName = plan.outputName
        layers = plan.layers.map { layer in
            var r = LayerRecord(kind: "", inputs: layer.inputs, output: layer.output)
            switch layer {
            case .conv(let c):
                r.kind = "conv"; r.inputs = [c.input]; r.residual = c.residual; r.relu = c.relu; r.window = Window(c.window)
                r.outChannels = c.outChannels; r.weights = Self.slice(c.weights); r.bias = Self.slice(c.bias); r.strategy = c.strategy.rawValue
            case .maxPool(_, _, let w): r.kind = "maxpool"; r.window = Window(w)
            case .averagePool(_, _, let w, let include): r.kind = "avgpool"; r.window = Window(w); r.countIncludePad = include
            case .globalAveragePool(_, _, let channels, let plane): r.kind = "global_avgpool"; r.channels = channels; r.plane = plane
            case .add(_, _, _, let relu, let count): r.kind = "add"; r.relu = relu; r.count = count
            case .affine(_, _, let scale, let shift, let relu, let shape):
                r.kind = "affine"; r.scale = Self.slice(scale); r.shift = Self.slice(shift); r.relu = relu; r.shape = Self.shape(shape)
            case .relu(_, _, let count): r.kind = "relu"; r.count = count
            case .pad(_, _, let shape, let pads, let value): r.kind = "pad"; r.shape = Self.shape(shape); r.pads = pads; r.value = value
            case .dense(let d):
                r.kind = "dense"; r.inFeatures = d.inFeatures; r.outFeatures = d.outFeatures; r.weights = Self.slice(d.weights)
                r.bias = d.bias.map(Self.slice); r.relu = d.relu
            case .softmax(_, _, let count): r.kind = "softmax"; r.count = count
            }
            return r
        }
    }

    /// The plan again (with an empty parameter array); `context` names the file in errors.
    func plan(context: String) throws(InferenceError) -> NetworkPlan {
        func bad(_ what: String) -> InferenceError { InferenceError(.malformedModel, "\(context): graph section: \(what)") }
        // Sizes come from the file: each is checked so that no count (or its byte size) overflows.
        guard parameterCount >= 0, parameterCount <= Int.max / MemoryLayout<Float>.stride else {
            throw bad("bad parameterCount \(parameterCount)")
        }
        func shape(_ v: [Int]?) throws(InferenceError) -> ActivationShape {
            guard let v, v.count == 3, v.allSatisfy({ $0 > 0 }) else { throw bad("bad shape \(v ?? [])") }
            var bytes = MemoryLayout<Float>.stride
            for dimension in v {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw bad("shape \(v) is too large") }
                bytes = product
            }
            return ActivationShape(channels: v[0], height: v[1], width: v[2])
        }
        func slice(_ v: [Int]?, _ layer: Int) throws(InferenceError) -> ParameterSlice {
            guard let v, v.count == 2, v[0] >= 0, v[1] >= 0, v[0] <= parameterCount, v[1] <= parameterCount - v[0] else {
                throw bad("layer \(layer): bad parameter slice \(v ?? [])")
            }
            return ParameterSlice(offset: v[0], count: v[1])
        }
        var shapeList: [ActivationShape] = []
        for s in shapes { shapeList.append(try shape(s)) }
        let ids = 0..<shapeList.count
        var list: [Layer] = []
        for (i, r) in layers.enumerated() {
            guard ids.contains(r.output), r.inputs.allSatisfy(ids.contains), !r.inputs.isEmpty else { throw bad("layer \(i): activation id out of range") }
            let x = r.inputs[0]
            switch r.kind {
            case "conv":
                guard let w = r.window?.window, var strategy = r.strategy.flatMap(ConvStrategy.init(rawValue:)), let m = r.outChannels,
                      r.residual.map(ids.contains) ?? true else { throw bad("layer \(i): incomplete conv") }
                // Files compiled before the Winograd path say im2col for its convolutions too.
                if strategy == .im2col { strategy = ConvStrategy.choose(w) }
                list.append(.conv(ConvLayer(input: x, output: r.output, residual: r.residual, relu: r.relu ?? false, window: w,
                                            outChannels: m, weights: try slice(r.weights, i), bias: try slice(r.bias, i), strategy: strategy)))
            case "maxpool":
                guard let w = r.window?.window else { throw bad("layer \(i): maxpool without window") }
                list.append(.maxPool(input: x, output: r.output, window: w))
            case "avgpool":
                guard let w = r.window?.window else { throw bad("layer \(i): avgpool without window") }
                list.append(.averagePool(input: x, output: r.output, window: w, countIncludePad: r.countIncludePad ?? false))
            case "global_avgpool":
                guard let c = r.channels, let p = r.plane else { throw bad("layer \(i): incomplete global_avgpool") }
                list.append(.globalAveragePool(input: x, output: r.output, channels: c, plane: p))
            case "add":
                guard r.inputs.count == 2, let count = r.count else { throw bad("layer \(i): incomplete add") }
                list.append(.add(a: x, b: r.inputs[1], output: r.output, relu: r.relu ?? false, count: count))
            case "affine":
                list.append(.affine(input: x, output: r.output, scale: try slice(r.scale, i), shift: try slice(r.shift, i),
                                    relu: r.relu ?? false, shape: try shape(r.shape)))
            case "relu":
                guard let count = r.count else { throw bad("layer \(i): incomplete relu") }
                list.append(.relu(input: x, output: r.output, count: count))
            case "pad":
                guard let pads = r.pads, pads.count == 4 else { throw bad("layer \(i): incomplete pad") }
                list.append(.pad(input: x, output: r.output, shape: try shape(r.shape), pads: pads, value: r.value ?? 0))
            case "dense":
                guard let inF = r.inFeatures, let outF = r.outFeatures else { throw bad("layer \(i): incomplete dense") }
                list.append(.dense(DenseLayer(input: x, output: r.output, inFeatures: inF, outFeatures: outF,
                                              weights: try slice(r.weights, i), bias: try r.bias.map { (v) throws(InferenceError) in try slice(v, i) }, relu: r.relu ?? false)))
            case "softmax":
                guard let count = r.count else { throw bad("layer \(i): incomplete softmax") }
                list.append(.softmax(input: x, output: r.output, count: count))
            default:
                throw bad("layer \(i): unknown kind '\(r.kind)'")
            }
        }
        guard ids.contains(input), ids.contains(output), let layout = InputLayout(rawValue: inputLayout) else { throw bad("bad input/output") }
        return NetworkPlan(layers: list, shapes: shapeList, input: input, output: output, parameters: [],
                           inputShape: try shape(inputShape), inputLayout: layout, endsWithSoftmax: endsWithSoftmax,
                           inputName: inputName, outputName: outputName)
    }
}

extension NetworkPlan {
    /// This plan keeping only the fp32 parameters the int8 engine reads (conv biases, convs kept
    /// fp32, the head), with every slice renumbered into the smaller arena; int8 convs' weight
    /// slices become empty.
    func compactedForInt8(int8Layers: Set<Int>) -> NetworkPlan {
        compacted(droppingWeightsOf: int8Layers)
    }

    /// This plan without the weights of the convolutions at `convLayers` (their slices become
    /// empty), every other slice renumbered into a smaller arena (16-float aligned, as built).
    func compacted(droppingWeightsOf convLayers: Set<Int>) -> NetworkPlan {
        var (copy, count, moves) = compactLayout(droppingWeightsOf: convLayers)
        var arena = [Float](repeating: 0, count: count)
        for move in moves { arena[move.to..<move.to + move.count] = parameters[move.from..<move.from + move.count] }
        copy.parameters = arena
        return copy
    }

    /// The layout of `compacted(droppingWeightsOf:)` without building the arena: the renumbered
    /// plan (with no parameters), the arena's size in floats, and the runs of floats to copy
    /// into it from this plan's arena (zeros elsewhere). Reads no parameter.
    func compactLayout(droppingWeightsOf convLayers: Set<Int>) -> (plan: NetworkPlan, count: Int, moves: [(from: Int, to: Int, count: Int)]) {
        var count = 0
        var moves: [(from: Int, to: Int, count: Int)] = []
        func keep(_ s: ParameterSlice) -> ParameterSlice {
            count = (count + 15) / 16 * 16
            let slice = ParameterSlice(offset: count, count: s.count)
            moves.append((s.offset, count, s.count))
            count += s.count
            return slice
        }
        var copy = self
        copy.parameters = []
        copy.layers = layers.enumerated().map { index, layer in
            switch layer {
            case .conv(var c):
                c.weights = convLayers.contains(index) ? ParameterSlice(offset: 0, count: 0) : keep(c.weights)
                c.bias = keep(c.bias)
                return .conv(c)
            case .dense(var d):
                d.weights = keep(d.weights)
                d.bias = d.bias.map(keep)
                return .dense(d)
            case .affine(let i, let o, let s, let t, let r, let shape):
                return .affine(input: i, output: o, scale: keep(s), shift: keep(t), relu: r, shape: shape)
            default:
                return layer
            }
        }
        return (copy, (count + 15) / 16 * 16, moves)
    }
}
