import CKernels

extension QuantizedNetwork {
    /// A batch of images advanced through the int8 network together, one layer at a time, each
    /// image in an activation arena of its own: between two layers the caller can read every
    /// image's live activations and change the next layer's constants (sequential bias
    /// correction). Costs one arena (`arenaBytes`) per image; for calibration only.
    final class LayerStepper {
        let network: QuantizedNetwork
        private var arenas: [UnsafeMutableRawPointer] = []
        private var quantisedInputs: [UnsafeMutablePointer<UInt8>] = []
        /// Layers run so far.
        private(set) var next = 0

        /// Loads (and, when the first conv is int8, quantises) every input into its own arena.
        init(_ network: QuantizedNetwork, inputs: [[Float]]) throws(InferenceError) {
            self.network = network
            let plan = network.plan
            for x in inputs {
                guard x.count == plan.inputShape.count else {
                    throw InferenceError(.badInput, "input has \(x.count) values; the model takes \(plan.inputShape.count)")
                }
                let arena = UnsafeMutableRawPointer.allocate(byteCount: max(network.arenaBytes, 64), alignment: 64)
                arena.initializeMemory(as: UInt8.self, repeating: 0, count: max(network.arenaBytes, 64))
                let q = UnsafeMutablePointer<UInt8>.allocate(capacity: max(plan.inputShape.count, 1))
                arenas.append(arena)
                quantisedInputs.append(q)
            }
            for (i, x) in inputs.enumerated() {
                try withImage(i) {
                    x.withUnsafeBufferPointer { network.floats(plan.input).update(from: $0.baseAddress!, count: $0.count) }
                    if let q = network.quantization.activations[plan.input] {
                        sb_quantize_u8(network.floats(plan.input), network.inputQ, x.count, q.scale, q.zeroPoint, 0)
                    }
                }
            }
        }

        deinit {
            for a in arenas { a.deallocate() }
            for q in quantisedInputs { q.deallocate() }
        }

        var count: Int { arenas.count }

        /// Runs `body` with image `i`'s arena swapped into the network.
        func withImage<T>(_ i: Int, _ body: () throws(InferenceError) -> T) throws(InferenceError) -> T {
            let (savedArena, savedInput) = (network.arena, network.inputQ)
            network.arena = arenas[i]
            network.inputQ = quantisedInputs[i]
            defer { network.arena = savedArena; network.inputQ = savedInput }
            return try body()
        }

        /// Activation `id` of image `i` as stored (valid until the next layer runs).
        func activation(_ id: Int, image i: Int) throws(InferenceError) -> RawActivation {
            try withImage(i) { () throws(InferenceError) -> RawActivation in
                let count = network.virtualActivations.contains(id) ? 0 : network.plan.shapes[id].count
                if let q = network.quantization.activations[id] {
                    return .u8(UnsafeBufferPointer(start: network.bytes(id), count: count), q)
                }
                return .f32(UnsafeBufferPointer(start: network.floats(id), count: count))
            }
        }

        /// Runs the next layer on every image.
        func step() throws(InferenceError) {
            for i in arenas.indices { try withImage(i) { () throws(InferenceError) in try network.run(next) } }
            next += 1
        }
    }

    /// Replaces the int32 bias (accumulator units) an int8 convolution's epilogue adds.
    func setInt8Bias(layer: Int, _ bias: [Int32]) {
        guard case .conv(let conv) = plan.layers[layer], planIndex[layer] >= 0, quantization.activations[conv.input] != nil,
              let target = q8Plans[planIndex[layer]].epilogue.bias, let scale = q8Plans[planIndex[layer]].epilogue.scale else { return }
        let pointer = UnsafeMutablePointer(mutating: target)
        for row in 0..<min(bias.count, conv.outChannels) { pointer[row] = Float(bias[row]) * scale[row] }
    }

    /// Replaces the bias of a dense layer run with int8 weights.
    func setDenseBias(layer: Int, _ bias: [Float]) {
        heads[layer]?.setBias(bias)
    }

    /// Every activation one forward pass stores as uint8, in the order produced, named as in the
    /// QDQ export (`QDQExport.tensorName(activation:)`), with the logits (the input of a final
    /// Softmax, else the output): for comparing the engine with ONNX Runtime running that export.
    public func trace(_ input: [Float]) throws(InferenceError) -> QuantizedTrace {
        let stepper = try LayerStepper(self, inputs: [input])
        var logitsID = plan.output
        if plan.endsWithSoftmax, case .softmax(let softmaxInput, _, _)? = plan.layers.last { logitsID = softmaxInput }
        var result = QuantizedTrace(activations: [], logits: [])
        func record(_ id: Int) throws(InferenceError) {
            let shape = plan.shapes[id]
            switch try stepper.activation(id, image: 0) {
            case .u8(let codes, _) where !virtualActivations.contains(id):
                result.activations.append(.init(name: QDQExport.tensorName(activation: id), activation: id,
                                                shape: [1, shape.channels, shape.height, shape.width], codes: Array(codes)))
            case .f32(let values) where id == logitsID:
                result.logits = Array(values)
            default:
                break
            }
        }
        if quantization.activations[plan.input] != nil { try record(plan.input) }
        for layer in plan.layers {
            try stepper.step()
            try record(layer.output)
        }
        return result
    }
}

/// The uint8 activations and logits of one int8 forward pass (`QuantizedNetwork.trace`).
public struct QuantizedTrace: Sendable {
    public struct Activation: Sendable {
        /// The tensor's name in the QDQ export.
        public var name: String
        public var activation: Int
        /// [1, C, H, W]
        public var shape: [Int]
        /// The uint8 codes, NCHW.
        public var codes: [UInt8]
    }
    public var activations: [Activation]
    public var logits: [Float]
}
