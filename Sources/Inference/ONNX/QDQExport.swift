import CKernels
import Foundation
import SwiftProtobuf

/// Writes an int8 model as an ONNX QDQ graph (QuantizeLinear / DequantizeLinear around float
/// operators) that computes exactly what the int8 engine computes, so that ONNX Runtime — a
/// reference none of us wrote — can run the same quantisation step for step
/// (`tools/qdq_check.py`).
///
/// What goes in, mirroring `QuantizedNetwork`:
/// - every activation the engine stores as uint8 is a `QuantizeLinear` output (uint8, its own
///   scale and zero point) named `tensorName(activation:)`; its readers see it through a
///   `DequantizeLinear`;
/// - an int8 convolution reads `DequantizeLinear(int8 weights, per-output-channel scales,
///   axis 0)` and `DequantizeLinear(int32 bias, input scale × weight scales, axis 0)`: the very
///   integers the engine packs, the bias after bias correction;
/// - the fused epilogue is spelled out: `Conv` → `Add` (the residual, dequantised; or the
///   projection shortcut's fp32 `Conv` output, which the engine adds before requantising) →
///   `Relu` → `QuantizeLinear`;
/// - a first convolution kept in fp32 is a float `Conv` with the fp32 weights, its output
///   quantised;
/// - max pooling and padding run on the uint8 tensor itself (exact, as in the engine);
/// - global average pooling yields fp32, and the classifier head is a `Gemm` with
///   `DequantizeLinear(int8 weights, per-row scales)` — quantised exactly as `QuantizedHead`
///   does at load — and the (corrected) fp32 bias; a final Softmax stays.
///
/// The graph takes the engine's input: NCHW float32 `input` [1, C, H, W] (also for models
/// whose ONNX original took NHWC), and has two outputs: `output` (the model's output) and
/// `logits` (the input of a final Softmax, else the output again). Opset 13 (per-axis
/// DequantizeLinear, uint8 MaxPool and Pad).
public enum QDQExport {
    /// The name of activation `id`'s uint8 tensor in the exported graph (and in a trace).
    public static func tensorName(activation id: Int) -> String { "act\(id)_q" }

    /// The QDQ graph of a compiled model's int8 side, serialised.
    /// - Throws: `InferenceError(.unsupported)` when the file has no int8 weights.
    public static func onnx(_ model: CompiledModel) throws(InferenceError) -> Data {
        guard model.hasInt8, let quantization = model.quantization else {
            throw InferenceError(.unsupported, "\(model.path): the file has no int8 weights (compile with --int8 --calibrate DIR)")
        }
        let int8 = try model.int8WeightsPointer()
        return try onnx(plan: model.plan, quantization: quantization, int8: int8, parameters: try model.fp32Parameters(),
                        name: model.info.name)
    }

    /// Writes `onnx(model)` to `path`.
    public static func write(_ model: CompiledModel, to path: String) throws(InferenceError) {
        let data = try onnx(model)
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw InferenceError(.fileUnreadable, "\(path): cannot write the QDQ model: \(error.localizedDescription)")
        }
    }

    static func onnx(plan: NetworkPlan, quantization: QuantizationPlan, int8: UnsafePointer<Int8>,
                     parameters: UnsafePointer<Float>, name: String) throws(InferenceError) -> Data {
        var g = Graph(plan: plan, quantization: quantization, int8: int8, parameters: parameters)
        try g.build()
        var graph = Onnx_GraphProto()
        graph.name = "\(name) (SmartBin int8, QDQ)"
        graph.node = g.nodes
        graph.initializer = g.initializers
        let shape = plan.inputShape
        graph.input = [valueInfo("input", .float, [1, shape.channels, shape.height, shape.width])]
        let outputs = plan.shapes[plan.output].count
        graph.output = [valueInfo("output", .float, [1, outputs]), valueInfo("logits", .float, [1, g.logitsCount])]
        var model = Onnx_ModelProto()
        model.irVersion = 7
        model.producerName = "smartbin"
        model.producerVersion = "model export-qdq"
        model.docString = "The int8 engine's computation as QuantizeLinear/DequantizeLinear around float operators: "
            + "its uint8 activation scales and zero points, int8 per-channel weights and int32 biases."
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = 13
        model.opsetImport = [opset]
        model.graph = graph
        do { return try model.serializedData() } catch {
            throw InferenceError(.invalidGraph, "\(name): cannot serialise the QDQ model: \(error)")
        }
    }

    static func valueInfo(_ name: String, _ type: Onnx_TensorProto.DataType, _ dims: [Int]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(type.rawValue)
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in var dim = Onnx_TensorShapeProto.Dimension(); dim.dimValue = Int64(d); return dim }
        tensor.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        info.type = type
        return info
    }

    /// The graph under construction.
    struct Graph {
        let plan: NetworkPlan
        let quantization: QuantizationPlan
        let int8: UnsafePointer<Int8>
        let parameters: UnsafePointer<Float>
        var nodes: [Onnx_NodeProto] = []
        var initializers: [Onnx_TensorProto] = []
        var logitsCount = 0
        /// Activations whose dequantised (fp32) form exists already.
        private var dequantised: Set<Int> = []
        /// Activations with scale/zero-point initializers.
        private var parametrised: Set<Int> = []
        /// Projection layer -> the name of its fp32 Conv output (added by its block's last conv).
        private var projectionOutputs: [Int: String] = [:]

        init(plan: NetworkPlan, quantization: QuantizationPlan, int8: UnsafePointer<Int8>, parameters: UnsafePointer<Float>) {
            self.plan = plan
            self.quantization = quantization
            self.int8 = int8
            self.parameters = parameters
        }

        /// The fp32 name of activation `id` (a quantised one is dequantised on first use).
        mutating func float(_ id: Int) -> String {
            if id == plan.input && quantization.activations[id] == nil { return "input" }
            guard quantization.activations[id] != nil else { return "act\(id)" }
            if !dequantised.contains(id) {
                dequantised.insert(id)
                let (scale, zp) = parametrise(id)
                node("DequantizeLinear", [QDQExport.tensorName(activation: id), scale, zp], "act\(id)")
            }
            return "act\(id)"
        }

        /// Scale and zero-point initializer names of quantised activation `id`.
        mutating func parametrise(_ id: Int) -> (String, String) {
            let q = quantization.activations[id]!
            if !parametrised.contains(id) {
                parametrised.insert(id)
                initializer("act\(id)_scale", [], floats: [q.scale])
                initializer("act\(id)_zp", [], uint8: [UInt8(q.zeroPoint)])
            }
            return ("act\(id)_scale", "act\(id)_zp")
        }

        /// Quantises fp32 `value` into activation `id`'s uint8 tensor.
        mutating func quantise(_ value: String, into id: Int) {
            let (scale, zp) = parametrise(id)
            node("QuantizeLinear", [value, scale, zp], QDQExport.tensorName(activation: id))
        }

        mutating func build() throws(InferenceError) {
            let int8Layers = Dictionary(uniqueKeysWithValues: quantization.convs.map { ($0.layer, $0) })
            let pairs = Quantizer.projectionPairs(plan, int8Layers: Set(int8Layers.keys))
                .filter { quantization.activations[$0.shortcutOutput] == nil }
            let shortcutOf = Dictionary(uniqueKeysWithValues: pairs.map { ($0.block, $0.shortcut) })
            let projections = Set(pairs.map(\.shortcut))
            var logitsName: String?
            if quantization.activations[plan.input] != nil { quantise("input", into: plan.input) }
            for (index, layer) in plan.layers.enumerated() {
                switch layer {
                case .conv(let conv):
                    let output: String
                    if let w = int8Layers[index] {
                        guard let input = quantization.activations[conv.input], let bias = w.bias ?? fallbackBias(conv, w, input) else {
                            throw InferenceError(.invalidGraph, "layer \(index): an int8 convolution whose input is not quantised")
                        }
                        let m = conv.outChannels, k = conv.reduction
                        let dims = [m, Int(conv.window.channels), Int(conv.window.k_h), Int(conv.window.k_w)]
                        initializer("w\(index)_q", dims, int8: Array(UnsafeBufferPointer(start: int8 + w.offset, count: m * k)))
                        initializer("w\(index)_scale", [m], floats: w.scales)
                        initializer("w\(index)_zp", [m], int8: [Int8](repeating: 0, count: m))
                        node("DequantizeLinear", ["w\(index)_q", "w\(index)_scale", "w\(index)_zp"], "w\(index)", ints: [:], axis: 0)
                        initializer("b\(index)_q", [m], int32: bias)
                        initializer("b\(index)_scale", [m], floats: w.scales.map { input.scale * $0 })
                        initializer("b\(index)_zp", [m], int32: [Int32](repeating: 0, count: m))
                        node("DequantizeLinear", ["b\(index)_q", "b\(index)_scale", "b\(index)_zp"], "b\(index)", ints: [:], axis: 0)
                        output = "conv\(index)"
                        node("Conv", [float(conv.input), "w\(index)", "b\(index)"], output, ints: convAttributes(conv.window))
                    } else {
                        let dims = [conv.outChannels, Int(conv.window.channels), Int(conv.window.k_h), Int(conv.window.k_w)]
                        initializer("w\(index)", dims, floats: Array(UnsafeBufferPointer(start: parameters + conv.weights.offset, count: conv.weights.count)))
                        initializer("b\(index)", [conv.outChannels], floats: Array(UnsafeBufferPointer(start: parameters + conv.bias.offset, count: conv.outChannels)))
                        output = "conv\(index)"
                        node("Conv", [float(conv.input), "w\(index)", "b\(index)"], output, ints: convAttributes(conv.window))
                    }
                    if projections.contains(index) {
                        // Added, in fp32, by its block's last convolution.
                        projectionOutputs[index] = output
                        continue
                    }
                    var value = output
                    if let shortcut = shortcutOf[index], let projection = projectionOutputs[shortcut] {
                        node("Add", [value, projection], "sum\(index)")
                        value = "sum\(index)"
                    } else if let r = conv.residual {
                        node("Add", [value, float(r)], "sum\(index)")
                        value = "sum\(index)"
                    }
                    if conv.relu {
                        node("Relu", [value], "relu\(index)")
                        value = "relu\(index)"
                    }
                    guard quantization.activations[conv.output] != nil else {
                        throw InferenceError(.invalidGraph, "layer \(index): convolution output has no quantisation parameters")
                    }
                    quantise(value, into: conv.output)
                case .maxPool(let input, let output, let window):
                    guard quantization.activations[input] != nil, quantization.activations[output] != nil else {
                        throw InferenceError(.invalidGraph, "layer \(index): max pool on an fp32 activation")
                    }
                    var attributes = convAttributes(window)
                    attributes["dilations"] = nil
                    attributes["group"] = nil
                    node("MaxPool", [QDQExport.tensorName(activation: input)], QDQExport.tensorName(activation: output), ints: attributes)
                case .pad(let input, let output, _, let pads, let value):
                    guard let q = quantization.activations[input] else {
                        throw InferenceError(.invalidGraph, "layer \(index): padding of an fp32 activation")
                    }
                    initializer("pad\(index)_pads", [8], int64: [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]].map(Int64.init))
                    initializer("pad\(index)_value", [], uint8: [q.quantize(value)])
                    node("Pad", [QDQExport.tensorName(activation: input), "pad\(index)_pads", "pad\(index)_value"],
                         QDQExport.tensorName(activation: output))
                case .globalAveragePool(let input, let output, _, _), .averagePool(let input, let output, _, _):
                    node("GlobalAveragePool", [float(input)], "act\(output)")
                case .dense(let dense):
                    let head = QuantizedHead(dense, parameters: parameters,
                                             bias: quantization.denseBiases?.first { $0.layer == index }?.bias, released: nil)
                    var weights = [Int8](), scales = [Float]()
                    weights.reserveCapacity(dense.outFeatures * dense.inFeatures)
                    for row in 0..<dense.outFeatures {
                        let r = head.row(row)
                        weights.append(contentsOf: r.weights)
                        scales.append(r.scale)
                    }
                    let n = dense.outFeatures, k = dense.inFeatures
                    initializer("fc\(index)_q", [n, k], int8: weights)
                    initializer("fc\(index)_scale", [n], floats: scales)
                    initializer("fc\(index)_zp", [n], int8: [Int8](repeating: 0, count: n))
                    node("DequantizeLinear", ["fc\(index)_q", "fc\(index)_scale", "fc\(index)_zp"], "fc\(index)", ints: [:], axis: 0)
                    initializer("fc\(index)_bias", [n], floats: head.currentBias ?? [Float](repeating: 0, count: n))
                    node("Flatten", [float(dense.input)], "flat\(index)", ints: ["axis": [1]])
                    let result = dense.relu ? "gemm\(index)" : "act\(dense.output)"
                    node("Gemm", ["flat\(index)", "fc\(index)", "fc\(index)_bias"], result, ints: ["transB": [1]])
                    if dense.relu { node("Relu", [result], "act\(dense.output)") }
                    logitsName = "act\(dense.output)"
                    logitsCount = n
                case .softmax(let input, let output, let count):
                    logitsName = float(input)
                    logitsCount = count
                    node("Softmax", [float(input)], "act\(output)", ints: ["axis": [1]])
                case .add, .affine, .relu:
                    throw InferenceError(.unsupported, "layer \(index): \(layer.name) is not supported by the int8 engine")
                }
            }
            let output = float(plan.output)
            node("Identity", [output], "output")
            node("Identity", [logitsName ?? output], "logits")
            if logitsName == nil { logitsCount = plan.shapes[plan.output].count }
        }

        /// A format-1 file stores no int32 biases: the engine quantises the fp32 ones at load.
        func fallbackBias(_ conv: ConvLayer, _ w: QuantizedConvWeights, _ input: TensorQuantization) -> [Int32]? {
            QuantizedConvWeights.int32Bias(Array(UnsafeBufferPointer(start: parameters + conv.bias.offset, count: conv.outChannels)),
                                           inputScale: input.scale, scales: w.scales)
        }

        func convAttributes(_ w: sb_window) -> [String: [Int]] {
            ["kernel_shape": [Int(w.k_h), Int(w.k_w)], "strides": [Int(w.stride_h), Int(w.stride_w)],
             "pads": [Int(w.pad_top), Int(w.pad_left), Int(w.pad_bottom), Int(w.pad_right)], "dilations": [1, 1], "group": [1]]
        }

        /// Appends a node; `ints` are INTS attributes (or INT ones for `axis`, `group`, `transB`).
        mutating func node(_ op: String, _ inputs: [String], _ output: String, ints: [String: [Int]] = [:], axis: Int? = nil) {
            var n = Onnx_NodeProto()
            n.opType = op
            n.name = "\(op.lowercased())_\(nodes.count)"
            n.input = inputs
            n.output = [output]
            var attributes: [Onnx_AttributeProto] = []
            for (key, values) in ints.sorted(by: { $0.key < $1.key }) {
                var a = Onnx_AttributeProto()
                a.name = key
                if ["axis", "group", "transB"].contains(key) {
                    a.type = .int
                    a.i = Int64(values[0])
                } else {
                    a.type = .ints
                    a.ints = values.map(Int64.init)
                }
                attributes.append(a)
            }
            if let axis {
                var a = Onnx_AttributeProto()
                a.name = "axis"
                a.type = .int
                a.i = Int64(axis)
                attributes.append(a)
            }
            n.attribute = attributes
            nodes.append(n)
        }

        mutating func initializer(_ name: String, _ dims: [Int], floats: [Float]) {
            append(name, dims, .float, floats.withUnsafeBytes { Data($0) })
        }
        mutating func initializer(_ name: String, _ dims: [Int], int8: [Int8]) {
            append(name, dims, .int8, int8.withUnsafeBytes { Data($0) })
        }
        mutating func initializer(_ name: String, _ dims: [Int], uint8: [UInt8]) {
            append(name, dims, .uint8, Data(uint8))
        }
        mutating func initializer(_ name: String, _ dims: [Int], int32: [Int32]) {
            append(name, dims, .int32, int32.map(\.littleEndian).withUnsafeBytes { Data($0) })
        }
        mutating func initializer(_ name: String, _ dims: [Int], int64: [Int64]) {
            append(name, dims, .int64, int64.map(\.littleEndian).withUnsafeBytes { Data($0) })
        }

        private mutating func append(_ name: String, _ dims: [Int], _ type: Onnx_TensorProto.DataType, _ bytes: Data) {
            var t = Onnx_TensorProto()
            t.name = name
            t.dims = dims.map(Int64.init)
            t.dataType = Int32(type.rawValue)
            // Raw data is little-endian; the floats above are written in host order (every
            // platform SmartBin runs on is little-endian).
            t.rawData = bytes
            initializers.append(t)
        }
    }
}

extension Network {
    /// The QDQ ONNX graph of `model` quantised from this network (`QDQExport`), serialised.
    public func qdqONNX(_ model: Int8Model, name: String = "model") throws(InferenceError) -> Data {
        let arena = weightArena
        return try model.weights.withUnsafeBufferPointer { (int8) throws(InferenceError) in
            try QDQExport.onnx(plan: plan, quantization: model.quantization, int8: int8.baseAddress!, parameters: arena.pointer, name: name)
        }
    }
}
