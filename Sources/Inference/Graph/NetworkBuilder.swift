import CKernels

/// Turns an `ONNXGraph` into a `NetworkPlan`: validates every node, folds BatchNormalization
/// into the preceding convolution, fuses ReLU and residual adds into convolution epilogues,
/// folds zero `Pad` nodes into convolution padding, and removes shape-only nodes.
///
/// Anything the engine cannot run exactly is refused with the node, operator and attribute named.
struct NetworkBuilder {
    private enum Value {
        case activation(Int)
        /// The graph input of a model that takes NHWC; only a Transpose to NCHW may read it.
        case nhwcInput(Int)
        /// An activation with a pending constant border (top, left, bottom, right).
        case padded(Int, pads: [Int], value: Float)
        case constant(ONNXTensor)
    }

    /// The graph being built; its initializers move into `values` when the build starts.
    private var graph: ONNXGraph
    private let path: String
    private var layers: [Layer] = []
    private var shapes: [ActivationShape] = []
    private var producer: [Int?] = []
    private var parameters: [Float] = []
    private var values: [String: Value] = [:]
    private var uses: [String: Int] = [:]
    private var materialisedPads: [String: Int] = [:]
    /// Readers still to come of each activation, across all the names it goes by.
    private var readers: [Int] = []
    /// Number of activations that existed before the node being added.
    private var nodeStart = 0

    init(graph: consuming ONNXGraph, path: String) {
        self.graph = graph
        self.path = path
    }

    /// Builds the plan. Takes `graph` over so that each initializer's converted values can be
    /// freed as soon as the last node reading them is built (they live on in the plan's
    /// parameters): converted initializers and parameters together stay about one model's size.
    static func build(_ graph: consuming ONNXGraph, path: String) throws(InferenceError) -> NetworkPlan {
        var builder = NetworkBuilder(graph: graph, path: path)
        return try builder.run()
    }

    private mutating func run() throws(InferenceError) -> NetworkPlan {
        for node in graph.nodes { for name in node.inputs where !name.isEmpty { uses[name, default: 0] += 1 } }
        for name in graph.outputs { uses[name, default: 0] += 1 }
        // Room for every parameter up front, so the arena is never copied while growing: the
        // float initializers, plus per node an output channel count (a bias made up for a
        // convolution without one) and alignment padding. Unused capacity is never touched.
        var capacity = 0
        for tensor in graph.initializers.values { capacity += tensor.floats?.count ?? 0 }
        for node in graph.nodes {
            capacity += 3 * 16 + (node.inputs.count > 1 ? (graph.initializers[node.inputs[1]]?.shape.max() ?? 0) : 0)
        }
        parameters.reserveCapacity(capacity)
        for (name, tensor) in graph.initializers { values[name] = .constant(tensor) }
        graph.initializers = [:]
        var pendingReads = uses

        guard graph.inputs.count == 1, let input = graph.inputs.first else {
            throw InferenceError(.unsupported, "\(path): the graph has \(graph.inputs.count) non-constant inputs \(graph.inputs.map(\.name)); the engine runs single-input image models")
        }
        let (inputShape, layout) = try inputGeometry(input)
        let inputID = newActivation(inputShape, producedBy: nil)
        values[input.name] = layout == .nhwc ? .nhwcInput(inputID) : .activation(inputID)

        for node in graph.nodes {
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw InferenceError(.unsupported, "\(path): \(node.label) is in operator domain '\(node.domain)', which the engine does not implement")
            }
            nodeStart = shapes.count
            try add(node)
            for name in node.inputs where !name.isEmpty {
                pendingReads[name, default: 0] -= 1
                if pendingReads[name] == 0, case .constant? = values[name] { values[name] = nil }
            }
        }

        guard let outputName = graph.outputs.first, let outputValue = values[outputName] else {
            throw InferenceError(.invalidGraph, "\(path): the graph declares no output, or its output is never produced")
        }
        guard case .activation(let outputID) = outputValue else {
            throw InferenceError(.unsupported, "\(path): graph output '\(outputName)' is not computed from the input")
        }
        let endsWithSoftmax: Bool
        if let last = producer[outputID].map({ layers[$0] }), case .softmax = last { endsWithSoftmax = true } else { endsWithSoftmax = false }
        return NetworkPlan(layers: layers, shapes: shapes, input: inputID, output: outputID, parameters: parameters,
                           inputShape: inputShape, inputLayout: layout, endsWithSoftmax: endsWithSoftmax,
                           inputName: input.name, outputName: outputName)
    }

    // MARK: Input

    private func inputGeometry(_ input: ONNXValueInfo) throws(InferenceError) -> (ActivationShape, InputLayout) {
        let dims = input.dims
        guard dims.count == 4 else {
            throw InferenceError(.unsupported, "\(path): input '\(input.name)' has rank \(dims.count); expected an image batch [N, C, H, W] or [N, H, W, C]")
        }
        if let batch = dims[0], batch != 1 {
            throw InferenceError(.unsupported, "\(path): input '\(input.name)' has a fixed batch of \(batch); the engine runs batch 1 (export with batch 1 or a symbolic batch)")
        }
        let nhwc = dims[3] == 3 && dims[1] != 3
        let (c, h, w) = nhwc ? (dims[3], dims[1], dims[2]) : (dims[1], dims[2], dims[3])
        guard let c, let h, let w, c > 0, h > 0, w > 0 else {
            throw InferenceError(.unsupported, "\(path): input '\(input.name)' has symbolic image dimensions \(dims.map { $0.map(String.init) ?? "?" }); export with a fixed image size")
        }
        return (ActivationShape(channels: c, height: h, width: w), nhwc ? .nhwc : .nchw)
    }

    // MARK: Nodes

    private mutating func add(_ node: ONNXNode) throws(InferenceError) {
        switch node.opType {
        case "Conv": try addConv(node)
        case "BatchNormalization": try addBatchNorm(node)
        case "Relu": try addRelu(node)
        case "Add", "Sum": try addAdd(node)
        case "MaxPool": try addPool(node, max: true)
        case "AveragePool": try addPool(node, max: false)
        case "GlobalAveragePool": try addGlobalAveragePool(node, input: node.inputs.first ?? "")
        case "ReduceMean": try addReduceMean(node)
        case "Flatten", "Reshape", "Squeeze", "Unsqueeze": try addReshape(node)
        case "Identity", "Dropout": try addIdentity(node)
        case "Gemm": try addGemm(node)
        case "MatMul": try addMatMul(node)
        case "Softmax": try addSoftmax(node)
        case "Transpose": try addTranspose(node)
        case "Pad": try addPad(node)
        case "Constant": try addConstant(node)
        default:
            throw InferenceError(.unsupported, "\(path): \(node.label): operator '\(node.opType)' is not supported by the engine (ResNet operators only: Conv, BatchNormalization, Relu, Add, MaxPool, AveragePool, GlobalAveragePool, ReduceMean, Flatten, Reshape, Squeeze, Gemm, MatMul, Softmax, Pad, Transpose of the input)")
        }
    }

    private mutating func addConv(_ node: ONNXNode) throws(InferenceError) {
        try requireAttributes(node, allowed: ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"])
        let (x, extraPads) = try convInput(node, 0)
        let shape = shapes[x]
        let weight = try constant(node, 1)
        guard weight.shape.count == 4, let w = weight.floats else {
            throw InferenceError(.unsupported, "\(path): \(node.label): weight '\(weight.name)' has shape \(weight.shape); only 2-D convolutions are supported")
        }
        let (cout, cin, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        if try int(node, "group", default: 1) != 1 {
            throw InferenceError(.unsupported, "\(path): \(node.label): attribute group=\(try int(node, "group", default: 1)) is not supported (groups must be 1)")
        }
        if let dilations = try ints(node, "dilations"), dilations.contains(where: { $0 != 1 }) {
            throw InferenceError(.unsupported, "\(path): \(node.label): attribute dilations=\(dilations) is not supported (must be 1)")
        }
        if let kernel = try ints(node, "kernel_shape"), kernel != [kh, kw] {
            throw InferenceError(.invalidGraph, "\(path): \(node.label): kernel_shape \(kernel) does not match weight shape \(weight.shape)")
        }
        guard cin == shape.channels else {
            throw InferenceError(.invalidGraph, "\(path): \(node.label): weight expects \(cin) input channels but the input has \(shape.channels)")
        }
        let strides = try ints(node, "strides") ?? [1, 1]
        var pads = try windowPads(node, input: shape, kernel: [kh, kw], strides: strides)
        for i in 0..<4 { pads[i] += extraPads[i] }
        var window = try makeWindow(node, input: shape, kernel: [kh, kw], strides: strides, pads: pads, ceil: false)
        window.channels = Int32(cin)

        var bias = [Float](repeating: 0, count: cout)
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            let b = try constant(node, 2)
            guard let values = b.floats, values.count == cout else {
                throw InferenceError(.invalidGraph, "\(path): \(node.label): bias '\(b.name)' has \(b.elementCount) values for \(cout) output channels")
            }
            bias = values
        }
        let strategy = ConvStrategy.choose(window)
        let output = newActivation(ActivationShape(channels: cout, height: Int(window.out_h), width: Int(window.out_w)),
                                   producedBy: layers.count)
        let conv = ConvLayer(input: x, output: output, residual: nil, relu: false, window: window, outChannels: cout,
                             weights: store(w), bias: store(bias), strategy: strategy)
        layers.append(.conv(conv))
        try define(node, .activation(output))
    }

    private mutating func addBatchNorm(_ node: ONNXNode) throws(InferenceError) {
        try requireAttributes(node, allowed: ["epsilon", "momentum", "spatial", "training_mode"])
        if try int(node, "training_mode", default: 0) != 0 {
            throw InferenceError(.unsupported, "\(path): \(node.label): training_mode=1 is not supported (export the model in eval mode)")
        }
        let x = try activation(node, 0)
        let channels = shapes[x].channels
        var parts: [[Float]] = []
        for index in 1...4 {
            let tensor = try constant(node, index)
            guard let values = tensor.floats, values.count == channels else {
                throw InferenceError(.invalidGraph, "\(path): \(node.label): '\(tensor.name)' has \(tensor.elementCount) values for \(channels) channels")
            }
            parts.append(values)
        }
        let epsilon = try float(node, "epsilon", default: 1e-5)
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            scale[c] = parts[0][c] / (parts[3][c] + epsilon).squareRoot()
            shift[c] = parts[1][c] - parts[2][c] * scale[c]
        }
        if let index = fusableConv(x), case .conv(let conv) = layers[index], conv.residual == nil, !conv.relu {
            // Fold: W' = W * s[c], b' = b * s[c] + shift[c].
            let k = conv.reduction
            for c in 0..<channels {
                for i in 0..<k { parameters[conv.weights.offset + c * k + i] *= scale[c] }
                let b = conv.bias.offset + c
                parameters[b] = parameters[b] * scale[c] + shift[c]
            }
            try define(node, .activation(x))
            return
        }
        let output = newActivation(shapes[x], producedBy: layers.count)
        layers.append(.affine(input: x, output: output, scale: store(scale), shift: store(shift), relu: false, shape: shapes[x]))
        try define(node, .activation(output))
    }

    private mutating func addRelu(_ node: ONNXNode) throws(InferenceError) {
        let x = try activation(node, 0)
        if readers[x] == 1, let index = producer[x] {
            switch layers[index] {
            case .conv(var conv) where !conv.relu:
                conv.relu = true
                layers[index] = .conv(conv)
                try define(node, .activation(x)); return
            case .add(let a, let b, let o, false, let count):
                layers[index] = .add(a: a, b: b, output: o, relu: true, count: count)
                try define(node, .activation(x)); return
            case .dense(var dense) where !dense.relu:
                dense.relu = true
                layers[index] = .dense(dense)
                try define(node, .activation(x)); return
            case .affine(let i, let o, let s, let t, false, let shape):
                layers[index] = .affine(input: i, output: o, scale: s, shift: t, relu: true, shape: shape)
                try define(node, .activation(x)); return
            default: break
            }
        }
        let output = newActivation(shapes[x], producedBy: layers.count)
        layers.append(.relu(input: x, output: output, count: shapes[x].count))
        try define(node, .activation(output))
    }

    private mutating func addAdd(_ node: ONNXNode) throws(InferenceError) {
        guard node.inputs.count == 2 else {
            throw InferenceError(.unsupported, "\(path): \(node.label): \(node.inputs.count) operands; only two are supported")
        }
        // A constant operand is a bias after MatMul.
        if case .constant(let bias)? = values[node.inputs[1]] ?? nil { try addBias(node, activationIndex: 0, bias: bias); return }
        if case .constant(let bias)? = values[node.inputs[0]] ?? nil { try addBias(node, activationIndex: 1, bias: bias); return }
        let a = try activation(node, 0), b = try activation(node, 1)
        guard shapes[a] == shapes[b] else {
            throw InferenceError(.unsupported, "\(path): \(node.label): operand shapes \(shapes[a]) and \(shapes[b]) differ (broadcasting is not supported)")
        }
        // Fuse into the convolution computed last, so that the other operand is ready by then.
        for (target, other) in [(a, b), (b, a)] where (producer[target] ?? -1) > (producer[other] ?? -1) {
            if let index = fusableConv(target), case .conv(var conv) = layers[index], conv.residual == nil, !conv.relu {
                conv.residual = other
                layers[index] = .conv(conv)
                try define(node, .activation(target))
                return
            }
        }
        let output = newActivation(shapes[a], producedBy: layers.count)
        layers.append(.add(a: a, b: b, output: output, relu: false, count: shapes[a].count))
        try define(node, .activation(output))
    }

    private mutating func addBias(_ node: ONNXNode, activationIndex: Int, bias: ONNXTensor) throws(InferenceError) {
        let x = try activation(node, activationIndex)
        if let index = producer[x], readers[x] == 1, case .dense(var dense) = layers[index],
           dense.bias == nil, !dense.relu, let values = bias.floats, values.count == dense.outFeatures {
            dense.bias = store(values)
            layers[index] = .dense(dense)
            try define(node, .activation(x))
            return
        }
        throw InferenceError(.unsupported, "\(path): \(node.label): adding constant '\(bias.name)' (shape \(bias.shape)) is only supported as the bias of a MatMul with matching width")
    }

    private mutating func addPool(_ node: ONNXNode, max: Bool) throws(InferenceError) {
        try requireAttributes(node, allowed: ["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "storage_order", "strides"])
        if node.outputs.count > 1, !node.outputs[1].isEmpty {
            throw InferenceError(.unsupported, "\(path): \(node.label): the Indices output is not supported")
        }
        if let dilations = try ints(node, "dilations"), dilations.contains(where: { $0 != 1 }) {
            throw InferenceError(.unsupported, "\(path): \(node.label): attribute dilations=\(dilations) is not supported")
        }
        if try int(node, "storage_order", default: 0) != 0 {
            throw InferenceError(.unsupported, "\(path): \(node.label): attribute storage_order=1 is not supported")
        }
        let x = try activation(node, 0)
        let shape = shapes[x]
        guard let kernel = try ints(node, "kernel_shape"), kernel.count == 2 else {
            throw InferenceError(.unsupported, "\(path): \(node.label): attribute kernel_shape must give two sizes")
        }
        let strides = try ints(node, "strides") ?? [1, 1]
        let pads = try windowPads(node, input: shape, kernel: kernel, strides: strides)
        let ceil = try int(node, "ceil_mode", default: 0) != 0
        var window = try makeWindow(node, input: shape, kernel: kernel, strides: strides, pads: pads, ceil: ceil)
        window.channels = Int32(shape.channels)
        let output = newActivation(ActivationShape(channels: shape.channels, height: Int(window.out_h), width: Int(window.out_w)),
                                   producedBy: layers.count)
        if max {
            layers.append(.maxPool(input: x, output: output, window: window))
        } else {
            layers.append(.averagePool(input: x, output: output, window: window,
                                       countIncludePad: try int(node, "count_include_pad", default: 0) != 0))
        }
        try define(node, .activation(output))
    }

    private mutating func addGlobalAveragePool(_ node: ONNXNode, input: String) throws(InferenceError) {
        let x = try activation(node, 0)
        let shape = shapes[x]
        let output = newActivation(ActivationShape(channels: shape.channels), producedBy: layers.count)
        layers.append(.globalAveragePool(input: x, output: output, channels: shape.channels, plane: shape.plane))
        try define(node, .activation(output))
    }

    private mutating func addReduceMean(_ node: ONNXNode) throws(InferenceError) {
        var axes = try ints(node, "axes")
        if axes == nil, node.inputs.count > 1, !node.inputs[1].isEmpty, let values = try constant(node, 1).ints {
            axes = values.map { Int($0) }
        }
        let normalised = Set((axes ?? []).map { $0 < 0 ? $0 + 4 : $0 })
        guard normalised == [2, 3] else {
            throw InferenceError(.unsupported, "\(path): \(node.label): ReduceMean over axes \(axes.map { "\($0)" } ?? "all") is not supported (only the spatial axes [2, 3])")
        }
        try addGlobalAveragePool(node, input: node.inputs[0])
    }

    private mutating func addReshape(_ node: ONNXNode) throws(InferenceError) {
        let x = try activation(node, 0)
        let shape = shapes[x]
        // Only reshapes that keep the element order and leave at most one non-unit spatial
        // structure are meaningful here; in ResNets they all turn [1, C, 1, 1] into [1, C].
        if node.opType == "Reshape" {
            let target = try constant(node, 1).ints ?? []
            let known = target.enumerated().map { index, dim -> Int64 in dim == 0 && index < 4 ? Int64(index == 0 ? 1 : [1, shape.channels, shape.height, shape.width][index]) : dim }
            let product = known.filter { $0 > 0 }.reduce(1, *)
            let inferred = known.contains(-1) ? Int64(shape.count) / max(product, 1) : 1
            let dims = known.map { $0 == -1 ? inferred : $0 }
            guard dims.reduce(1, *) == Int64(shape.count), dims.first == 1 || dims.count == 1 else {
                throw InferenceError(.unsupported, "\(path): \(node.label): reshape of \(shape) to \(target) is not supported")
            }
            let nonUnit = dims.dropFirst().filter { $0 != 1 }
            if nonUnit.count > 1, shape.plane != 1 || dims.count != 4 || dims[1] != Int64(shape.channels) {
                throw InferenceError(.unsupported, "\(path): \(node.label): reshape of \(shape) to \(target) is not supported (only flattening to [1, N])")
            }
        }
        if node.opType == "Flatten", try int(node, "axis", default: 1) != 1 {
            throw InferenceError(.unsupported, "\(path): \(node.label): Flatten with axis \(try int(node, "axis", default: 1)) is not supported (only axis 1)")
        }
        if shape.plane == 1 || node.opType == "Flatten" || node.opType == "Reshape" {
            // Same memory; consumers of a flattened tensor only read its element count.
            try define(node, .activation(x))
            return
        }
        throw InferenceError(.unsupported, "\(path): \(node.label): \(node.opType) of a \(shape) feature map is not supported")
    }

    private mutating func addIdentity(_ node: ONNXNode) throws(InferenceError) {
        if node.outputs.count > 1, !node.outputs[1].isEmpty, uses[node.outputs[1]] ?? 0 > 0 {
            throw InferenceError(.unsupported, "\(path): \(node.label): the mask output of Dropout is not supported")
        }
        guard let value = values[node.inputs.first ?? ""] else {
            throw InferenceError(.invalidGraph, "\(path): \(node.label): input '\(node.inputs.first ?? "")' is not defined before use")
        }
        values[node.outputs[0]] = value
    }

    private mutating func addGemm(_ node: ONNXNode) throws(InferenceError) {
        try requireAttributes(node, allowed: ["alpha", "beta", "transA", "transB"])
        if try int(node, "transA", default: 0) != 0 {
            throw InferenceError(.unsupported, "\(path): \(node.label): attribute transA=1 is not supported")
        }
        let x = try activation(node, 0)
        let inFeatures = shapes[x].count
        let b = try constant(node, 1)
        guard b.shape.count == 2, var w = b.floats else {
            throw InferenceError(.invalidGraph, "\(path): \(node.label): weight '\(b.name)' must be a 2-D float matrix, has shape \(b.shape)")
        }
        let transB = try int(node, "transB", default: 0) != 0
        let (outFeatures, k) = transB ? (b.shape[0], b.shape[1]) : (b.shape[1], b.shape[0])
        guard k == inFeatures else {
            throw InferenceError(.invalidGraph, "\(path): \(node.label): weight '\(b.name)' \(b.shape) does not fit \(inFeatures) input features")
        }
        if !transB { w = transpose(w, rows: k, columns: outFeatures) }
        let alpha = try float(node, "alpha", default: 1), beta = try float(node, "beta", default: 1)
        if alpha != 1 { w = w.map { $0 * alpha } }
        var bias: ParameterSlice?
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            let c = try constant(node, 2)
            guard let values = c.floats, values.count == outFeatures || values.count == 1 else {
                throw InferenceError(.unsupported, "\(path): \(node.label): bias '\(c.name)' of shape \(c.shape) does not broadcast to \(outFeatures) outputs")
            }
            let full = values.count == 1 ? [Float](repeating: values[0], count: outFeatures) : values
            bias = store(full.map { $0 * beta })
        }
        try appendDense(node, input: x, inFeatures: k, outFeatures: outFeatures, weights: w, bias: bias)
    }

    private mutating func addMatMul(_ node: ONNXNode) throws(InferenceError) {
        let x = try activation(node, 0)
        let b = try constant(node, 1)
        guard b.shape.count == 2, let w = b.floats, b.shape[0] == shapes[x].count else {
            throw InferenceError(.unsupported, "\(path): \(node.label): MatMul with '\(b.name)' of shape \(b.shape) on \(shapes[x].count) features is not supported")
        }
        try appendDense(node, input: x, inFeatures: b.shape[0], outFeatures: b.shape[1],
                        weights: transpose(w, rows: b.shape[0], columns: b.shape[1]), bias: nil)
    }

    private mutating func appendDense(_ node: ONNXNode, input: Int, inFeatures: Int, outFeatures: Int,
                                      weights: [Float], bias: ParameterSlice?) throws(InferenceError) {
        let output = newActivation(ActivationShape(channels: outFeatures), producedBy: layers.count)
        layers.append(.dense(DenseLayer(input: input, output: output, inFeatures: inFeatures, outFeatures: outFeatures,
                                        weights: store(weights), bias: bias, relu: false)))
        try define(node, .activation(output))
    }

    private mutating func addSoftmax(_ node: ONNXNode) throws(InferenceError) {
        let x = try activation(node, 0)
        let axis = try int(node, "axis", default: graph.opset >= 13 ? -1 : 1)
        guard shapes[x].plane == 1, axis == -1 || axis == 1 else {
            throw InferenceError(.unsupported, "\(path): \(node.label): Softmax over axis \(axis) of \(shapes[x]) is not supported (only over the class vector)")
        }
        let output = newActivation(shapes[x], producedBy: layers.count)
        layers.append(.softmax(input: x, output: output, count: shapes[x].count))
        try define(node, .activation(output))
    }

    private mutating func addTranspose(_ node: ONNXNode) throws(InferenceError) {
        let perm = try ints(node, "perm")
        if case .nhwcInput(let id)? = values[node.inputs.first ?? ""], perm == [0, 3, 1, 2] {
            try define(node, .activation(id))
            return
        }
        if case .activation(let id)? = values[node.inputs.first ?? ""], shapes[id].plane == 1, perm == [0, 1, 2, 3] || perm == [0, 2, 3, 1] {
            try define(node, .activation(id)) // a vector is the same in any layout
            return
        }
        throw InferenceError(.unsupported, "\(path): \(node.label): Transpose with perm \(perm.map { "\($0)" } ?? "reversed") is only supported on an NHWC graph input (perm [0, 3, 1, 2])")
    }

    private mutating func addPad(_ node: ONNXNode) throws(InferenceError) {
        let mode: String
        if case .string(let s)? = node.attributes["mode"] { mode = s } else { mode = "constant" }
        guard mode == "constant" else {
            throw InferenceError(.unsupported, "\(path): \(node.label): attribute mode='\(mode)' is not supported (only constant)")
        }
        var pads: [Int]
        if let fromAttribute = try ints(node, "pads") {
            pads = fromAttribute
        } else {
            guard let values = try constant(node, 1).ints else {
                throw InferenceError(.invalidGraph, "\(path): \(node.label): pads must be a constant integer tensor")
            }
            pads = values.map { Int($0) }
        }
        if node.inputs.count > 3, !node.inputs[3].isEmpty {
            throw InferenceError(.unsupported, "\(path): \(node.label): the axes input of Pad is not supported")
        }
        var value: Float = try float(node, "value", default: 0)
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            value = try constant(node, 2).floats?.first ?? 0
        }
        guard pads.count == 8, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0, pads.allSatisfy({ $0 >= 0 }) else {
            throw InferenceError(.unsupported, "\(path): \(node.label): pads \(pads) are not supported (only non-negative spatial padding of a 4-D tensor)")
        }
        let x = try activation(node, 0)
        try define(node, .padded(x, pads: [pads[2], pads[3], pads[6], pads[7]], value: value))
    }

    private mutating func addConstant(_ node: ONNXNode) throws(InferenceError) {
        let tensor: ONNXTensor
        switch node.attributes["value"] ?? node.attributes["value_float"] ?? node.attributes["value_ints"] ?? node.attributes["value_int"] ?? node.attributes["value_floats"] {
        case .tensor(var t)?: t.name = node.outputs[0]; tensor = t
        case .float(let f)?: tensor = ONNXTensor(name: node.outputs[0], shape: [], elements: .float([f]))
        case .floats(let f)?: tensor = ONNXTensor(name: node.outputs[0], shape: [f.count], elements: .float(f))
        case .int(let i)?: tensor = ONNXTensor(name: node.outputs[0], shape: [], elements: .int64([i]))
        case .ints(let i)?: tensor = ONNXTensor(name: node.outputs[0], shape: [i.count], elements: .int64(i))
        default:
            throw InferenceError(.unsupported, "\(path): \(node.label): Constant without a supported value attribute")
        }
        values[node.outputs[0]] = .constant(tensor)
    }

    // MARK: Helpers

    private mutating func newActivation(_ shape: ActivationShape, producedBy layer: Int?) -> Int {
        shapes.append(shape)
        producer.append(layer)
        readers.append(0)
        return shapes.count - 1
    }

    private mutating func store(_ values: [Float]) -> ParameterSlice {
        // Keep every slice 64-byte aligned inside the arena.
        while parameters.count % 16 != 0 { parameters.append(0) }
        let slice = ParameterSlice(offset: parameters.count, count: values.count)
        parameters.append(contentsOf: values)
        return slice
    }

    private mutating func define(_ node: ONNXNode, _ value: Value) throws(InferenceError) {
        guard let name = node.outputs.first, !name.isEmpty else {
            throw InferenceError(.invalidGraph, "\(path): \(node.label) has no output")
        }
        values[name] = value
        let id: Int?
        switch value {
        case .activation(let a), .padded(let a, _, _): id = a
        default: id = nil
        }
        if let id {
            // A node that passes an existing activation on (a fused or shape-only node) used up
            // one read of it; its output's readers now read the activation instead.
            readers[id] += (uses[name] ?? 0) - (id < nodeStart ? 1 : 0)
        }
    }

    /// The layer index of the convolution producing `id`, if its output has no other reader.
    private func fusableConv(_ id: Int) -> Int? {
        guard let index = producer[id], case .conv = layers[index] else { return nil }
        return readers[id] == 1 ? index : nil
    }

    private mutating func activation(_ node: ONNXNode, _ index: Int) throws(InferenceError) -> Int {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else {
            throw InferenceError(.invalidGraph, "\(path): \(node.label): missing input #\(index)")
        }
        let name = node.inputs[index]
        switch values[name] {
        case .activation(let id)?: return id
        case .padded(let id, let pads, let value)?:
            if let done = materialisedPads[name] { return done }
            let shape = shapes[id]
            let padded = ActivationShape(channels: shape.channels, height: shape.height + pads[0] + pads[2],
                                         width: shape.width + pads[1] + pads[3])
            let output = newActivation(padded, producedBy: layers.count)
            layers.append(.pad(input: id, output: output, shape: shape, pads: pads, value: value))
            materialisedPads[name] = output
            readers[output] = uses[name] ?? 0
            return output
        case .nhwcInput?:
            throw InferenceError(.unsupported, "\(path): \(node.label) reads the NHWC input '\(name)' directly; only a Transpose to NCHW may")
        case .constant?:
            throw InferenceError(.unsupported, "\(path): \(node.label): input '\(name)' is a constant where a feature map is expected")
        case nil:
            throw InferenceError(.invalidGraph, "\(path): \(node.label): input '\(name)' is not defined before use")
        }
    }

    /// A convolution's input: zero padding pending on it is returned to be folded into the window.
    private mutating func convInput(_ node: ONNXNode, _ index: Int) throws(InferenceError) -> (Int, [Int]) {
        if index < node.inputs.count, case .padded(let id, let pads, let value)? = values[node.inputs[index]], value == 0 {
            return (id, pads)
        }
        return (try activation(node, index), [0, 0, 0, 0])
    }

    private func constant(_ node: ONNXNode, _ index: Int) throws(InferenceError) -> ONNXTensor {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else {
            throw InferenceError(.invalidGraph, "\(path): \(node.label): missing input #\(index)")
        }
        guard case .constant(let tensor)? = values[node.inputs[index]] else {
            throw InferenceError(.unsupported, "\(path): \(node.label): input '\(node.inputs[index])' must be a constant (an initializer)")
        }
        return tensor
    }

    private func requireAttributes(_ node: ONNXNode, allowed: Set<String>) throws(InferenceError) {
        for (name, value) in node.attributes where !allowed.contains(name) {
            throw InferenceError(.unsupported, "\(path): \(node.label): attribute '\(name)' (\(value)) is not supported")
        }
    }

    private func int(_ node: ONNXNode, _ name: String, default value: Int) throws(InferenceError) -> Int {
        switch node.attributes[name] {
        case nil: return value
        case .int(let v)?: return Int(v)
        default: throw InferenceError(.invalidGraph, "\(path): \(node.label): attribute '\(name)' must be an integer")
        }
    }

    private func float(_ node: ONNXNode, _ name: String, default value: Float) throws(InferenceError) -> Float {
        switch node.attributes[name] {
        case nil: return value
        case .float(let v)?: return v
        case .int(let v)?: return Float(v)
        default: throw InferenceError(.invalidGraph, "\(path): \(node.label): attribute '\(name)' must be a float")
        }
    }

    private func ints(_ node: ONNXNode, _ name: String) throws(InferenceError) -> [Int]? {
        switch node.attributes[name] {
        case nil: return nil
        case .ints(let v)?: return v.map { Int($0) }
        default: throw InferenceError(.invalidGraph, "\(path): \(node.label): attribute '\(name)' must be a list of integers")
        }
    }

    /// Pads [top, left, bottom, right] from `pads` or `auto_pad`.
    private func windowPads(_ node: ONNXNode, input: ActivationShape, kernel: [Int], strides: [Int]) throws(InferenceError) -> [Int] {
        let autoPad: String
        if case .string(let s)? = node.attributes["auto_pad"] { autoPad = s } else { autoPad = "NOTSET" }
        switch autoPad {
        case "NOTSET":
            let pads = try ints(node, "pads") ?? [0, 0, 0, 0]
            guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else {
                throw InferenceError(.unsupported, "\(path): \(node.label): attribute pads=\(pads) is not supported (four non-negative values)")
            }
            return pads
        case "VALID": return [0, 0, 0, 0]
        case "SAME_UPPER", "SAME_LOWER":
            var pads = [0, 0, 0, 0]
            for (axis, size) in [input.height, input.width].enumerated() {
                let out = (size + strides[axis] - 1) / strides[axis]
                let total = max((out - 1) * strides[axis] + kernel[axis] - size, 0)
                let small = total / 2
                pads[axis] = autoPad == "SAME_UPPER" ? small : total - small
                pads[axis + 2] = total - pads[axis]
            }
            return pads
        default:
            throw InferenceError(.unsupported, "\(path): \(node.label): attribute auto_pad='\(autoPad)' is not supported")
        }
    }

    private func makeWindow(_ node: ONNXNode, input: ActivationShape, kernel: [Int], strides: [Int], pads: [Int], ceil: Bool) throws(InferenceError) -> sb_window {
        guard kernel.count == 2, strides.count == 2, strides.allSatisfy({ $0 > 0 }), kernel.allSatisfy({ $0 > 0 }) else {
            throw InferenceError(.unsupported, "\(path): \(node.label): kernel \(kernel) / strides \(strides) must be two positive sizes")
        }
        func extent(_ size: Int, _ k: Int, _ s: Int, _ before: Int, _ after: Int) -> Int {
            let span = size + before + after - k
            guard span >= 0 else { return 0 }
            var out = (ceil ? (span + s - 1) / s : span / s) + 1
            // ONNX: in ceil mode the last window must start inside the input or its left padding.
            if ceil, (out - 1) * s >= size + before { out -= 1 }
            return out
        }
        let oh = extent(input.height, kernel[0], strides[0], pads[0], pads[2])
        let ow = extent(input.width, kernel[1], strides[1], pads[1], pads[3])
        guard oh > 0, ow > 0 else {
            throw InferenceError(.invalidGraph, "\(path): \(node.label): window \(kernel) does not fit input \(input) with pads \(pads)")
        }
        var w = sb_window()
        w.channels = Int32(input.channels)
        w.in_h = Int32(input.height); w.in_w = Int32(input.width)
        w.k_h = Int32(kernel[0]); w.k_w = Int32(kernel[1])
        w.stride_h = Int32(strides[0]); w.stride_w = Int32(strides[1])
        w.pad_top = Int32(pads[0]); w.pad_left = Int32(pads[1]); w.pad_bottom = Int32(pads[2]); w.pad_right = Int32(pads[3])
        w.out_h = Int32(oh); w.out_w = Int32(ow)
        return w
    }

    private func transpose(_ m: [Float], rows: Int, columns: Int) -> [Float] {
        var t = [Float](repeating: 0, count: m.count)
        for r in 0..<rows { for c in 0..<columns { t[c * rows + r] = m[r * columns + c] } }
        return t
    }
}
