import CKernels
import Foundation

/// A ResNet-style network running in int8: uint8 activations per tensor, int8 weights per
/// output channel, int32 accumulation and a fused requantising epilogue (bias, residual add
/// with the residual's own scale and zero point, ReLU) in the int8 GEMM.
///
/// The three parts (as `Network`): the description (`plan` + `quantization`), the weights (int8
/// packed once at load for this CPU's kernel variant; fp32 head and biases borrowed from the
/// caller, e.g. a mapped `.sbm`) and the workspace (one byte arena for every activation, the
/// unfold scratch and one GEMM workspace per thread, all allocated at load). `forward`
/// allocates nothing. Not thread-safe: one forward pass at a time.
public final class QuantizedNetwork {
    let plan: NetworkPlan
    let quantization: QuantizationPlan
    private let parameters: UnsafePointer<Float>
    private let parameterCount: Int
    private let weightOwner: AnyObject?
    /// The kernel variant the weights are packed for.
    public let kernel: Int32
    private let packed: UnsafeMutableRawPointer
    private let packedBytes: Int
    /// Epilogue constants: scale[M] and bias[M] of every int8 conv, one aligned float block.
    private let constants: UnsafeMutablePointer<Float>
    /// The activation arena in use (`ownArena` except while a `LayerStepper` swaps in an image's).
    var arena: UnsafeMutableRawPointer
    private let ownArena: UnsafeMutableRawPointer
    let arenaBytes: Int
    private let offsets: [Int]
    /// The quantised network input (when the first conv runs in int8).
    var inputQ: UnsafeMutablePointer<UInt8>
    private let ownInputQ: UnsafeMutablePointer<UInt8>
    private let scratch: UnsafeMutableRawPointer
    private let scratchBytes: Int
    /// Per-thread scratch of an fp32 conv (the first one), run in bands of `bandRows` output rows
    /// (`sb_conv2d_f32_u8`): the band's unfold and fp32 output.
    private var bandScratch: UnsafeMutablePointer<Float>
    private let bandFloats: Int
    static let bandRows: Int32 = 8
    /// Whether stride-1 windows may use the c4 planes; `SMARTBIN_Q8_C4=0` turns them off (to
    /// compare the two paths).
    static let useC4 = ProcessInfo.processInfo.environment["SMARTBIN_Q8_C4"] != "0"
    private var workspaces: UnsafeMutableRawPointer
    private let workspaceSize: Int
    var q8Plans: [sb_q8_conv_plan]
    /// Block-final conv layer -> its projection shortcut's layer, for pairs added in fp32
    /// before one requantisation (`sb_u8_conv_pair`); the projections are `deferred` (run with
    /// their block) and their outputs `virtualActivations` (never stored).
    let pairOf: [Int: Int]
    let deferred: Set<Int>
    let virtualActivations: Set<Int>
    /// Dense layers (the classifier head) with int8 weights, by layer index.
    var heads: [Int: QuantizedHead] = [:]
    private var fp32Plans: [sb_conv_plan]
    /// First-layer convs run on the image's bytes in int16 (`sb_s16_conv_u8`), by layer index,
    /// once `useImageLevels` has told the engine which fp32 value each byte takes; the bytes go
    /// into `s16Planes`. An input off those levels runs the layer's fp32 plan instead.
    private var s16Plans: [Int: OpaquePointer] = [:]
    private var s16Planes: UnsafeMutablePointer<Int16>?
    /// The caller's input during `forward(input:output:)`, read in place of the arena's copy.
    private var callerInput: UnsafePointer<Float>?
    /// Forward passes whose first layer took the int16 path, and those that fell back to fp32.
    public private(set) var imagePasses = (int16: 0, fp32: 0)
    /// `SMARTBIN_S16=0` keeps first layers in fp32 whatever `useImageLevels` is told (to compare).
    static let useS16 = ProcessInfo.processInfo.environment["SMARTBIN_S16"] != "0"
    var planIndex: [Int]
    private var pool: OpaquePointer?
    public private(set) var threads: Int = 1

    public var inputShape: ActivationShape { plan.inputShape }
    public var inputLayout: InputLayout { plan.inputLayout }
    public var outputCount: Int { plan.shapes[plan.output].count }
    public var endsWithSoftmax: Bool { plan.endsWithSoftmax }
    public var flops: Double { plan.layers.reduce(0) { $0 + $1.flops } }
    /// Bytes of packed int8 weights plus fp32 parameters the engine reads.
    public var parameterBytes: Int { packedBytes + parameterCount * 4 }
    public var workspaceBytes: Int { arenaBytes + scratchBytes + (bandFloats * 4 + workspaceSize) * max(threads, 1) }
    public var layerCount: Int { plan.layers.count }
    /// The name of the int8 GEMM variant in use ("avx512vnni", "neon", ...).
    public var kernelName: String { String(cString: sb_q8_kernel_name(kernel)) }

    /// True when an average pool window covers its whole input plane without padding.
    static func isGlobal(_ w: sb_window) -> Bool {
        w.out_h == 1 && w.out_w == 1 && w.k_h == w.in_h && w.k_w == w.in_w &&
            w.pad_top == 0 && w.pad_left == 0 && w.pad_bottom == 0 && w.pad_right == 0
    }

    /// Prepares `plan` for int8 execution.
    /// - Parameters:
    ///   - parameters: the fp32 arena `plan`'s slices point into (`parameterCount` floats): conv
    ///     biases, the dense head and any conv kept fp32. Borrowed, kept alive by `owner`.
    ///   - int8: the int8 weight arena (`quantization.int8Count` bytes), read once here to pack.
    ///   - released: called with each conv's int8 weights once packed (a mapped file drops the
    ///     pages, so the unpacked and packed copies are never resident together).
    /// - Throws: `InferenceError` when the CPU has no usable kernel or a layer is not int8-capable.
    init(plan: NetworkPlan, quantization: QuantizationPlan, parameters: UnsafePointer<Float>, parameterCount: Int,
         int8: UnsafePointer<Int8>, owner: AnyObject?, released: ((UnsafeRawPointer, Int) -> Void)? = nil) throws(InferenceError) {
        self.plan = plan
        self.quantization = quantization
        self.parameters = parameters
        self.parameterCount = parameterCount
        weightOwner = owner
        let selected = sb_q8_select_kernel()
        guard selected >= 0 else {
            throw InferenceError(.unsupported, "SMARTBIN_Q8_KERNEL names an unknown or unavailable int8 kernel variant (error \(selected))")
        }
        kernel = selected
        let blockM = sb_q8_block_m(kernel), blockN = sb_q8_block_n(kernel)

        // Pack every int8 conv's weights into one aligned block.
        var weightsByLayer: [Int: QuantizedConvWeights] = [:]
        for w in quantization.convs { weightsByLayer[w.layer] = w }
        var packedOffsets: [Int: Int] = [:]
        var totalPacked = 0
        var constantCount = 0
        var workspace = 64
        // Stride-1 windows larger than 1x1 read their input as padded c4 planes where the kernel
        // can (`sb_q8_conv_c4_supported`): their weights are packed in c4 K order, of this length.
        var c4Reduction: [Int: Int] = [:]
        for (index, layer) in plan.layers.enumerated() where Self.useC4 {
            guard case .conv(let conv) = layer, weightsByLayer[index] != nil, conv.strategy != .direct,
                  conv.window.k_h * conv.window.k_w > 1 else { continue }
            var window = conv.window
            if sb_q8_conv_c4_supported(selected, &window) != 0 { c4Reduction[index] = Int(sb_q8_c4_reduction(&window)) }
        }
        for (index, layer) in plan.layers.enumerated() {
            guard case .conv(let conv) = layer, weightsByLayer[index] != nil else { continue }
            let reduction = c4Reduction[index] ?? conv.reduction
            let size = sb_q8_packed_weights_size(kernel, Int32(conv.outChannels), Int32(reduction))
            guard size > 0 else {
                throw InferenceError(.unsupported, "layer \(index): \(conv.outChannels)x\(conv.reduction) weights are beyond the int8 GEMM's limits")
            }
            packedOffsets[index] = totalPacked
            totalPacked += (size + 63) / 64 * 64
            constantCount += 2 * ((conv.outChannels + 15) / 16 * 16)
            workspace = max(workspace, sb_q8_workspace_size(kernel, Int32(reduction)))
        }

        packedBytes = totalPacked
        packed = UnsafeMutableRawPointer.allocate(byteCount: max(totalPacked, 64), alignment: 64)
        constants = Network.allocate(max(constantCount, 16))
        // Projection shortcuts added in fp32 before their block's requantisation: the projection
        // runs with the block's last conv (`sb_u8_conv_pair`), its output never stored.
        let pairs = Quantizer.projectionPairs(plan, int8Layers: Set(weightsByLayer.keys))
            .filter { quantization.activations[$0.shortcutOutput] == nil }
        var pairOf = [Int: Int](), deferred = Set<Int>()
        for pair in pairs {
            pairOf[pair.block] = pair.shortcut
            deferred.insert(pair.shortcut)
            if case .conv(let block) = plan.layers[pair.block], case .conv(let shortcut) = plan.layers[pair.shortcut] {
                workspace = max(workspace, sb_q8_pair_workspace_size(kernel, Int32(block.reduction), Int32(shortcut.reduction)))
            }
        }
        self.pairOf = pairOf
        workspaceSize = (workspace + 63) / 64 * 64
        workspaces = UnsafeMutableRawPointer.allocate(byteCount: workspaceSize, alignment: 64)
        self.deferred = deferred
        let virtual = Set(pairs.map(\.shortcutOutput))
        virtualActivations = virtual

        // Storage of every activation: uint8 when quantised, else fp32; none for a deferred
        // projection's output.
        let sizes = plan.shapes.indices.map { id -> Int in
            if virtual.contains(id) { return 0 }
            let bytes = plan.shapes[id].count * (quantization.activations[id] == nil ? 4 : 1)
            return (bytes + 63) / 64 * 64
        }
        // The input is always fed as fp32; a quantised input gets its own uint8 copy. A deferred
        // projection reads its input when its block's last conv runs, so that input lives until then.
        var extraReads: [Int: [Int]] = [:]
        for pair in pairs {
            guard case .conv(let shortcut) = plan.layers[pair.shortcut] else { continue }
            extraReads[pair.block, default: []].append(shortcut.input)
        }
        let (offsets, total) = Network.layOut(plan, extraReads: extraReads) { id in id == plan.input ? plan.shapes[id].count * 4 : sizes[id] }
        self.offsets = offsets
        arenaBytes = total
        ownArena = UnsafeMutableRawPointer.allocate(byteCount: max(total, 64), alignment: 64)
        ownArena.initializeMemory(as: UInt8.self, repeating: 0, count: max(total, 64))
        arena = ownArena
        ownInputQ = UnsafeMutablePointer<UInt8>.allocate(capacity: max(plan.inputShape.count, 1))
        inputQ = ownInputQ

        var q8: [sb_q8_conv_plan] = []
        var f32: [sb_conv_plan] = []
        var index = [Int](repeating: -1, count: plan.layers.count)
        var scratchNeeded = 64, bandNeeded = 16
        var constantCursor = 0
        for (layerIndex, layer) in plan.layers.enumerated() {
            guard case .conv(let conv) = layer else { continue }
            let unfold = conv.strategy != .direct
            // A conv of a pair writes fp32 in real units; the pair's sum is quantised with the
            // block's output parameters.
            let inPair = deferred.contains(layerIndex) || pairOf[layerIndex] != nil
            guard let out = inPair && deferred.contains(layerIndex) ? TensorQuantization(scale: 1, zeroPoint: 0)
                    : quantization.activations[conv.output] else {
                throw InferenceError(.invalidGraph, "layer \(layerIndex): convolution output has no quantisation parameters")
            }
            if let weights = weightsByLayer[layerIndex] {
                guard let input = quantization.activations[conv.input], weights.scales.count == conv.outChannels,
                      weights.count == conv.outChannels * conv.reduction, weights.offset + weights.count <= quantization.int8Count else {
                    throw InferenceError(.invalidGraph, "layer \(layerIndex): int8 weights or input quantisation do not match the convolution")
                }
                let target = packed + packedOffsets[layerIndex]!
                var window = conv.window
                let c4 = c4Reduction[layerIndex]
                let reduction = c4 ?? conv.reduction
                let size = sb_q8_packed_weights_size(kernel, Int32(conv.outChannels), Int32(reduction))
                let rc: Int32
                if c4 != nil {
                    var reordered = [Int8](repeating: 0, count: conv.outChannels * reduction)
                    sb_q8_reorder_c4(int8 + weights.offset, Int32(conv.outChannels), &window, &reordered)
                    rc = sb_q8_pack_weights(kernel, reordered, Int32(conv.outChannels), Int32(reduction), Int32(reduction), target, size)
                    scratchNeeded = max(scratchNeeded, sb_q8_c4_input_bytes(&window))
                } else {
                    rc = sb_q8_pack_weights(kernel, int8 + weights.offset, Int32(conv.outChannels), Int32(conv.reduction),
                                            Int32(conv.reduction), target, size)
                }
                guard rc == Int32(SB_Q8_OK) else {
                    throw InferenceError(.invalidGraph, "layer \(layerIndex): packing int8 weights failed (error \(rc))")
                }
                released?(UnsafeRawPointer(int8 + weights.offset), weights.count)
                let m = conv.outChannels
                let scale = constants + constantCursor
                let bias = scale + (m + 15) / 16 * 16
                constantCursor += 2 * ((m + 15) / 16 * 16)
                // The bias is int32 in accumulator units (as a QDQ model's); format-1 files store
                // none, so the fp32 one is quantised the same way here.
                let biasQ = weights.bias ?? QuantizedConvWeights.int32Bias((0..<m).map { parameters[conv.bias.offset + $0] },
                                                                            inputScale: input.scale, scales: weights.scales)
                guard biasQ.count == m else {
                    throw InferenceError(.invalidGraph, "layer \(layerIndex): \(biasQ.count) int8 biases for \(m) output channels")
                }
                for row in 0..<m {
                    scale[row] = inPair ? weights.scales[row] * input.scale : weights.scales[row] * input.scale / out.scale
                    bias[row] = Float(biasQ[row]) * scale[row]
                }
                var ep = sb_q8_epilogue()
                ep.scale = UnsafePointer(scale)
                ep.bias = UnsafePointer(bias)
                if !inPair, let r = conv.residual, let rq = quantization.activations[r] {
                    ep.residual_scale = rq.scale / out.scale
                    ep.residual_zp = rq.zeroPoint
                }
                ep.out_zp = inPair ? 0 : out.zeroPoint
                ep.relu = conv.relu && !inPair ? 1 : 0
                ep.out_type = Int32((inPair ? SB_Q8_OUT_F32 : SB_Q8_OUT_U8).rawValue)
                index[layerIndex] = q8.count
                q8.append(sb_q8_conv_plan(window: conv.window, out_channels: Int32(m), unfold: unfold ? 1 : 0,
                                          input_zp: input.zeroPoint, packed: UnsafeRawPointer(target), epilogue: ep,
                                          block_m: blockM, block_n: blockN, c4: c4 != nil ? 1 : 0))
                // A window the kernel packs straight from the input needs no unfold buffer.
                if unfold && !inPair && c4 == nil && sb_q8_conv_implicit(kernel, &window) == 0 {
                    scratchNeeded = max(scratchNeeded, conv.reduction * conv.outputPlane)
                }
            } else {
                index[layerIndex] = f32.count
                var p = sb_conv_plan(window: conv.window, out_channels: Int32(conv.outChannels), unfold: unfold ? 1 : 0,
                                     relu: conv.relu ? 1 : 0, weights: parameters + conv.weights.offset,
                                     bias: parameters + conv.bias.offset)
                f32.append(p)
                bandNeeded = max(bandNeeded, sb_conv2d_f32_u8_scratch(&p, Self.bandRows))
            }
        }
        for pair in pairs {
            var (a, b) = (q8[index[pair.block]], q8[index[pair.shortcut]])
            scratchNeeded = max(scratchNeeded, sb_u8_pair_scratch_bytes(&a, &b))
        }
        for (layerIndex, layer) in plan.layers.enumerated() {
            guard case .dense(let dense) = layer else { continue }
            let bias = quantization.denseBiases?.first { $0.layer == layerIndex }?.bias
            if let bias, bias.count != dense.outFeatures {
                throw InferenceError(.invalidGraph, "layer \(layerIndex): \(bias.count) corrected biases for \(dense.outFeatures) outputs")
            }
            heads[layerIndex] = QuantizedHead(dense, parameters: parameters, bias: bias, released: released)
        }
        q8Plans = q8
        fp32Plans = f32
        planIndex = index
        scratchBytes = (scratchNeeded + 63) / 64 * 64
        scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
        bandFloats = (bandNeeded + 15) / 16 * 16
        bandScratch = Network.allocate(bandFloats)
        BLASRuntime.threads = 1
    }

    deinit {
        if let pool { sb_pool_destroy(pool) }
        packed.deallocate()
        free(constants)
        ownArena.deallocate()
        ownInputQ.deallocate()
        scratch.deallocate()
        free(bandScratch)
        workspaces.deallocate()
        for plan in s16Plans.values { sb_s16_conv_destroy(plan) }
        s16Planes?.deallocate()
    }

    /// Declares the images this engine is fed: channel `c` of every input value is
    /// `levels[c][byte]` for some byte (the preprocessing's lookup table, 256 values per channel).
    /// Convolutions that read the input in fp32 then run on the bytes in int16 where the CPU has
    /// AVX-512 VNNI (`sb_s16_conv.h`: the image exact, the weights rounded to 15 bits); an input
    /// with any value off those levels still runs them in fp32. Returns how many layers changed.
    /// Levels that are not evenly spaced (as no affine preprocessing makes) change none, and so
    /// does `SMARTBIN_S16=0`.
    @discardableResult
    public func useImageLevels(_ levels: [[Float]]) throws(InferenceError) -> Int {
        guard levels.allSatisfy({ $0.count == 256 }) else {
            throw InferenceError(.badInput, "image levels: \(levels.map(\.count)) values per channel, need 256")
        }
        for p in s16Plans.values { sb_s16_conv_destroy(p) }
        s16Plans = [:]
        guard Self.useS16 else {
            s16Planes?.deallocate()
            s16Planes = nil
            return 0
        }
        var planesNeeded = 0
        let table = levels.flatMap { $0 }
        for (index, layer) in plan.layers.enumerated() {
            guard case .conv(let conv) = layer, conv.input == plan.input, conv.residual == nil,
                  quantization.activations[conv.input] == nil, !deferred.contains(index), pairOf[index] == nil,
                  let out = quantization.activations[conv.output], Int(conv.window.channels) == levels.count else { continue }
            var window = conv.window
            guard sb_s16_conv_supported(&window, Int32(conv.outChannels), 1) != 0,
                  let made = sb_s16_conv_create(&window, Int32(conv.outChannels), parameters + conv.weights.offset,
                                                parameters + conv.bias.offset, table, out.scale, out.zeroPoint,
                                                conv.relu ? 1 : 0) else { continue }
            s16Plans[index] = made
            planesNeeded = max(planesNeeded, sb_s16_planes_bytes(&window))
        }
        s16Planes?.deallocate()
        s16Planes = planesNeeded > 0 ? UnsafeMutableRawPointer.allocate(byteCount: planesNeeded, alignment: 64)
            .bindMemory(to: Int16.self, capacity: planesNeeded / 2) : nil
        return s16Plans.count
    }

    /// Sets the number of threads for later forward passes (one GEMM workspace each).
    public func setThreads(_ count: Int) {
        let count = max(1, count)
        guard count != threads || (count > 1 && pool == nil) else { return }
        if let pool { sb_pool_destroy(pool) }
        pool = count > 1 ? sb_pool_create(Int32(count)) : nil
        threads = pool == nil ? 1 : count
        workspaces.deallocate()
        workspaces = UnsafeMutableRawPointer.allocate(byteCount: workspaceSize * threads, alignment: 64)
        free(bandScratch)
        bandScratch = Network.allocate(bandFloats * threads)
        BLASRuntime.threads = 1
    }

    @inline(__always) func bytes(_ id: Int) -> UnsafeMutablePointer<UInt8> {
        id == plan.input ? inputQ : (arena + offsets[id]).assumingMemoryBound(to: UInt8.self)
    }
    @inline(__always) func floats(_ id: Int) -> UnsafeMutablePointer<Float> {
        if id == plan.input, let callerInput { return UnsafeMutablePointer(mutating: callerInput) }
        return (arena + offsets[id]).assumingMemoryBound(to: Float.self)
    }

    /// Runs one image: `input` is `inputShape.count` preprocessed floats (NCHW); `output`
    /// receives `outputCount` floats (logits, or probabilities when the model ends with Softmax).
    public func forward(input: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) throws(InferenceError) {
        guard input.count == plan.inputShape.count else {
            throw InferenceError(.badInput, "input has \(input.count) values; the model takes \(plan.inputShape) = \(plan.inputShape.count)")
        }
        guard output.count >= outputCount else {
            throw InferenceError(.badInput, "output buffer holds \(output.count) values; the model produces \(outputCount)")
        }
        // The layers read the caller's input in place (no layer writes its input).
        callerInput = input.baseAddress!
        defer { callerInput = nil }
        if let q = quantization.activations[plan.input] {
            sb_quantize_u8(floats(plan.input), inputQ, input.count, q.scale, q.zeroPoint, 0)
        }
        for index in plan.layers.indices { try run(index) }
        output.baseAddress!.update(from: floats(plan.output), count: outputCount)
    }

    /// Runs one image showing `observe` every activation after its layer, dequantised to fp32
    /// (for calibration diagnostics and tests; allocates).
    func forward(_ input: [Float], only: Set<Int>? = nil, observe: (_ activation: Int, _ values: [Float]) -> Void) throws(InferenceError) {
        guard input.count == plan.inputShape.count else {
            throw InferenceError(.badInput, "input has \(input.count) values; the model takes \(plan.inputShape) = \(plan.inputShape.count)")
        }
        // Layer by layer, so every activation is seen before the arena reuses its space.
        input.withUnsafeBufferPointer { floats(plan.input).update(from: $0.baseAddress!, count: $0.count) }
        if let q = quantization.activations[plan.input] {
            sb_quantize_u8(floats(plan.input), inputQ, input.count, q.scale, q.zeroPoint, 0)
        }
        for (index, layer) in plan.layers.enumerated() {
            try run(index)
            let id = layer.output, count = plan.shapes[id].count
            if let only, !only.contains(id) { continue }
            if virtualActivations.contains(id) { continue }   // a projection added before requantisation
            if let q = quantization.activations[id] {
                let p = bytes(id)
                observe(id, (0..<count).map { q.scale * (Float(p[$0]) - Float(q.zeroPoint)) })
            } else {
                observe(id, Array(UnsafeBufferPointer(start: floats(id), count: count)))
            }
        }
    }

    /// An activation as the int8 engine holds it (`LayerStepper.activation`).
    enum RawActivation {
        /// uint8 values with their scale and zero point.
        case u8(UnsafeBufferPointer<UInt8>, TensorQuantization)
        case f32(UnsafeBufferPointer<Float>)
    }

    /// Convenience form of `forward(input:output:)` returning a new array.
    public func forward(_ input: [Float]) throws(InferenceError) -> [Float] {
        var output = [Float](repeating: 0, count: outputCount)
        try input.withUnsafeBufferPointer { (source) throws(InferenceError) in
            try output.withUnsafeMutableBufferPointer { (target) throws(InferenceError) in try forward(input: source, output: target) }
        }
        return output
    }

    /// Runs one forward pass timing every layer.
    public func profile(_ input: [Float]) throws(InferenceError) -> [Network.LayerTiming] {
        guard input.count == plan.inputShape.count else {
            throw InferenceError(.badInput, "input has \(input.count) values; the model takes \(plan.inputShape.count)")
        }
        let names = layerDescriptions
        input.withUnsafeBufferPointer { floats(plan.input).update(from: $0.baseAddress!, count: $0.count) }
        let start0 = DispatchTime.now().uptimeNanoseconds
        if let q = quantization.activations[plan.input] {
            sb_quantize_u8(floats(plan.input), inputQ, input.count, q.scale, q.zeroPoint, 0)
        }
        var timings: [Network.LayerTiming] = []
        var last = start0
        for (index, layer) in plan.layers.enumerated() {
            try run(index)
            let now = DispatchTime.now().uptimeNanoseconds
            timings.append(Network.LayerTiming(index: index, description: names[index], milliseconds: Double(now - last) / 1e6, flops: layer.flops))
            last = now
        }
        // A projection runs inside its block's last conv: its work is counted where its time is.
        for (block, shortcut) in pairOf {
            timings[block].flops += timings[shortcut].flops
            timings[shortcut].flops = 0
        }
        return timings
    }

    func run(_ index: Int) throws(InferenceError) {
        switch plan.layers[index] {
        case .conv where deferred.contains(index):
            return   // runs with its block's last conv
        case .conv(let conv) where pairOf[index] != nil:
            let shortcut = pairOf[index]!
            guard case .conv(let projection) = plan.layers[shortcut], let out = quantization.activations[conv.output] else { return }
            let rc = q8Plans.withUnsafeBufferPointer { plans in
                sb_u8_conv_pair(plans.baseAddress! + planIndex[index], bytes(conv.input),
                                plans.baseAddress! + planIndex[shortcut], bytes(projection.input),
                                out.scale, out.zeroPoint, conv.relu ? 1 : 0, bytes(conv.output),
                                scratch.assumingMemoryBound(to: UInt8.self), workspaces, workspaceSize, pool)
            }
            guard rc == Int32(SB_Q8_OK) else {
                throw InferenceError(.invalidGraph, "layer \(index): int8 convolution pair failed (error \(rc))")
            }
        case .conv(let conv):
            if quantization.activations[conv.input] != nil {
                let rc = q8Plans.withUnsafeBufferPointer { plans in
                    sb_q8_conv2d(plans.baseAddress! + planIndex[index], bytes(conv.input),
                                 conv.residual.map { UnsafePointer(bytes($0)) }, bytes(conv.output),
                                 scratch.assumingMemoryBound(to: UInt8.self), workspaces, workspaceSize, pool)
                }
                guard rc == Int32(SB_Q8_OK) else {
                    throw InferenceError(.invalidGraph, "layer \(index): int8 convolution failed (error \(rc))")
                }
            } else if let s16 = s16Plans[index], let planes = s16Planes,
                      sb_s16_conv_u8(s16, floats(conv.input), planes, bytes(conv.output), pool) != 0 {
                imagePasses.int16 += 1
            } else {
                if s16Plans[index] != nil { imagePasses.fp32 += 1 }
                let q = quantization.activations[conv.output]!
                fp32Plans.withUnsafeBufferPointer { plans in
                    sb_conv2d_f32_u8(plans.baseAddress! + planIndex[index], floats(conv.input), bytes(conv.output),
                                     q.scale, q.zeroPoint, Self.bandRows, bandScratch, pool, BLAS.kernel)
                }
            }
        case .maxPool(let input, let output, var window):
            sb_maxpool_u8_parallel(bytes(input), bytes(output), &window, pool)
        case .globalAveragePool(let input, let output, let channels, let plane):
            let q = quantization.activations[input]!
            sb_global_avgpool_u8(bytes(input), floats(output), Int32(channels), Int32(plane), q.scale, q.zeroPoint)
        case .averagePool(let input, let output, let window, _):
            let q = quantization.activations[input]!
            sb_global_avgpool_u8(bytes(input), floats(output), window.channels, window.in_h * window.in_w, q.scale, q.zeroPoint)
        case .pad(let input, let output, let shape, let pads, let value):
            let q = quantization.activations[input]!
            sb_pad_u8(bytes(input), bytes(output), Int32(shape.channels), Int32(shape.height), Int32(shape.width),
                      Int32(pads[0]), Int32(pads[1]), Int32(pads[2]), Int32(pads[3]), q.quantize(value))
        case .dense(let dense) where heads[index] != nil:
            heads[index]!.run(floats(dense.input), floats(dense.output), pool: pool)
        case .dense(let dense):
            let out = floats(dense.output)
            BLAS.gemv(m: dense.outFeatures, n: dense.inFeatures, a: parameters + dense.weights.offset, x: floats(dense.input), y: out)
            sb_epilogue(out, nil, dense.bias.map { parameters + $0.offset }, nil, Int32(dense.outFeatures), 1, dense.relu ? 1 : 0)
        case .softmax(let input, let output, let count):
            floats(output).update(from: floats(input), count: count)
            sb_softmax(floats(output), Int32(count))
        case .add, .affine, .relu:
            throw InferenceError(.unsupported, "layer \(index): \(plan.layers[index].name) is not supported by the int8 engine")
        }
    }

    /// A one-line description of every executed layer: name, output shape, precision, GFLOP.
    public var layerDescriptions: [String] {
        plan.layers.enumerated().map { index, layer in
            let shape = plan.shapes[layer.output]
            var text = "\(layer.name) -> \(shape)"
            if case .conv(let conv) = layer {
                let precision = quantization.activations[conv.input] != nil ? "int8" : s16Plans[index] != nil ? "int16" : "fp32"
                text += " [\(precision) \(conv.strategy.withoutWinograd.rawValue)\(conv.residual != nil ? " +residual" : "")\(conv.relu ? " +relu" : "")]"
                if deferred.contains(index) { text += " fp32 output, runs with its block's last conv" }
                if let shortcut = pairOf[index] { text += " + layer \(shortcut) in fp32 before requantisation" }
            }
            if let q = quantization.activations[layer.output] {
                text += String(format: " u8(scale %.4g, zp %d)", q.scale, q.zeroPoint)
            }
            if case .dense = layer { text += heads[index] != nil ? " [int8 weights]" : " [fp32]" }
            if layer.flops > 0 { text += String(format: " %.3f GFLOP", layer.flops / 1e9) }
            return text
        }
    }
}
