import CKernels
import Foundation

/// A ResNet-style network ready to run: the model description (layers), its weights (one
/// aligned arena, BN folded) and the workspace (every activation, allocated once at load).
/// `forward` allocates nothing.
///
/// Not thread-safe: one forward pass at a time (the workspace is shared). Wrap it in an actor or
/// a lock to share it; `ONNXClassifier` does.
public final class Network {
    /// The plan being run (its slices index `parameters`). Loaded `inferenceOnly`, the
    /// convolutions whose weights were packed have empty weight slices.
    private let runPlan: NetworkPlan
    /// The plan with every BN-folded weight, as the quantiser and the `.sbm` writer read it.
    /// Not available from an `inferenceOnly` network (a programming error: load it without).
    var plan: NetworkPlan {
        precondition(keepsSourceWeights, "this Network was loaded inferenceOnly: its convolutions' fp32 weights are gone; load it with inferenceOnly: false to quantise or compile it")
        return runPlan
    }
    /// False for a network loaded `inferenceOnly`: each convolution's fp32 weights were dropped
    /// once packed, so it cannot be quantised or written to a `.sbm` file.
    public let keepsSourceWeights: Bool
    /// The weight arena: owned (copied from the plan, or only what inference reads of it) or
    /// borrowed from the caller (`weightOwner`).
    private let parameters: UnsafeMutablePointer<Float>
    var parametersPointer: UnsafeMutablePointer<Float> { parameters }
    private let parameterCount: Int
    /// Keeps borrowed weights alive (the mapped file); nil when `parameters` is owned.
    private let weightOwner: AnyObject?
    private let arena: UnsafeMutablePointer<Float>
    private let arenaCount: Int
    /// Offset into `arena` of each activation.
    private let offsets: [Int]
    private let scratch: UnsafeMutablePointer<Float>
    private let scratchCount: Int
    /// Convolutions ready for the C driver, by layer index (pointers into `parameters`).
    private var convPlans: [sb_conv_plan]
    private var convPlanIndex: [Int]
    /// The strategy each convolution runs with, by layer index (`.winograd` only when enabled).
    private let executedStrategies: [ConvStrategy?]
    /// Winograd convolutions, by layer index (pointers into `winogradWeights`).
    private var winogradPlans: [sb_winograd_plan]
    private var winogradPlanIndex: [Int]
    /// Transformed weights of every Winograd convolution, prepared at load: per convolution
    /// U [36][outChannels][inChannels] (4x the 3x3 weights), or with `sgemmKernel` set U packed
    /// per ξ for sb_sgemm (`sb_winograd_pack`), back to back, 16-float aligned.
    private let winogradWeights: UnsafeMutablePointer<Float>
    private let winogradWeightCount: Int
    /// The kernel of our own GEMM (`sb_sgemm.h`) that runs the convolutions, or nil for OpenBLAS.
    let sgemmKernel: Int32?
    /// Convolutions run by sb_sgemm, by layer index (pointers into `sgemmWeights`).
    private var sgemmPlans: [sb_sgemm_conv_plan]
    private var sgemmPlanIndex: [Int]
    /// Weights of every non-Winograd convolution packed for sb_sgemm at load (row blocks of MR
    /// output channels, each [K][MR]), back to back, 16-float aligned; empty without `sgemmKernel`.
    private let sgemmWeights: UnsafeMutablePointer<Float>
    private let sgemmWeightCount: Int

    /// Which GEMM runs the convolutions: our own (`sb_sgemm.h`) on x86-64 with AVX-512 or AVX2,
    /// where it measured faster than OpenBLAS on every ResNet50 shape (README, "Performance");
    /// OpenBLAS elsewhere (aarch64, or x86-64 without AVX2, where only the plain C kernel exists).
    /// `SMARTBIN_SGEMM=blas` forces OpenBLAS and `=avx512`, `=avx2` or `=ref` one kernel (if this
    /// CPU runs it; else OpenBLAS), for A/B benchmarks. Read when a network is loaded.
    static var preferredSGEMMKernel: Int32? {
        let setting = ProcessInfo.processInfo.environment["SMARTBIN_SGEMM"] ?? "auto"
        switch setting {
        case "blas", "0": return nil
        case "auto", "", "1":
            let best = sb_sgemm_best_kernel()
            return best == Int32(SB_SGEMM_KERNEL_REF.rawValue) ? nil : best
        default:
            let kernel = sb_sgemm_kernel_from_name(setting)
            return kernel >= 0 && sb_sgemm_kernel_available(kernel) != 0 ? kernel : nil
        }
    }

    /// Whether 3x3 stride-1 convolutions use Winograd F(4x4, 3x3): on unless the environment
    /// sets `SMARTBIN_WINOGRAD=0` (for A/B benchmarks). Read when a network is loaded.
    static var winogradEnabled: Bool {
        ProcessInfo.processInfo.environment["SMARTBIN_WINOGRAD"] != "0"
    }
    private var pool: OpaquePointer?

    /// Threads one forward pass uses (the engine's own pool; BLAS runs single-threaded on each
    /// thread's share of a GEMM).
    public private(set) var threads: Int = 1

    /// Sets the number of threads for later forward passes.
    public func setThreads(_ count: Int) {
        let count = max(1, count)
        guard count != threads || (count > 1 && pool == nil) else { return }
        if let pool { sb_pool_destroy(pool) }
        pool = count > 1 ? sb_pool_create(Int32(count)) : nil
        threads = pool == nil ? 1 : count
        BLASRuntime.threads = 1
    }

    /// Shape of one input image the network takes (NCHW without the batch).
    public var inputShape: ActivationShape { runPlan.inputShape }
    /// The layout the source model's input had (the engine itself always takes NCHW).
    public var inputLayout: InputLayout { runPlan.inputLayout }
    /// Length of the output vector (the number of classes).
    public var outputCount: Int { runPlan.shapes[runPlan.output].count }
    /// True when the model's last operator is Softmax (its output already is probabilities).
    public var endsWithSoftmax: Bool { runPlan.endsWithSoftmax }
    /// Floating-point operations of one forward pass (a multiply-add counts as two).
    public var flops: Double { runPlan.layers.reduce(0) { $0 + $1.flops } }
    /// Bytes of weights (the fp32 arena, with the Winograd-transformed and the packed copies)
    /// and of the workspace.
    public var parameterBytes: Int { (parameterCount + winogradWeightCount + sgemmWeightCount) * 4 }
    public var workspaceBytes: Int { (arenaCount + scratchCount) * 4 }
    /// Number of executed layers after fusion.
    public var layerCount: Int { runPlan.layers.count }

    /// Loads an ONNX model (with its external-data files, if any) and prepares it to run.
    /// - Parameter inferenceOnly: drop each convolution's BN-folded fp32 weights once they are
    ///   packed for the GEMM or transformed for Winograd, rather than keep them beside the
    ///   packed copy (ResNet50: about 100 MB less). Such a network runs as fast, but cannot be
    ///   quantised or written to a `.sbm` file. The default keeps them (what `model compile` needs).
    /// - Throws: `InferenceError` naming the file and the node, operator or tensor at fault.
    public static func load(onnx path: String, inferenceOnly: Bool = false) throws(InferenceError) -> Network {
        let plan = try NetworkBuilder.build(try ONNXLoader.load(path: path), path: path)
        return inferenceOnly ? packedOnly(consume plan) : Network(plan: plan)
    }

    /// Builds from ONNX bytes in memory (`path` names the model in errors); `inferenceOnly` as
    /// in `load(onnx:inferenceOnly:)`.
    public static func load(onnxBytes: Data, path: String, inferenceOnly: Bool = false) throws(InferenceError) -> Network {
        let plan = try NetworkBuilder.build(try ONNXLoader.load(bytes: onnxBytes, path: path), path: path)
        return inferenceOnly ? packedOnly(consume plan) : Network(plan: plan)
    }

    /// Copies `plan`'s parameters into an aligned arena and keeps them all.
    convenience init(plan: NetworkPlan) {
        let weights = Network.allocate(max(plan.parameters.count, 1))
        plan.parameters.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { weights.update(from: base, count: source.count) }
        }
        self.init(plan: plan, weights: weights, count: plan.parameters.count, owner: nil)
    }

    /// A network that keeps only what inference reads, taking over `plan`'s parameters: see
    /// `packedOnly(_:source:release:)`; the parameters' pages are dropped as they are packed
    /// (they are freed right after).
    static func packedOnly(_ plan: consuming NetworkPlan) -> Network {
        var source = plan.parameters
        plan.parameters = [] // `source` is now the only reference: its pages are ours to drop
        return source.withUnsafeMutableBufferPointer { all in
            packedOnly(plan, source: UnsafePointer(all.baseAddress), release: { Pages.release($0, $1) })
        }
    }

    /// A network that keeps only what inference reads: it packs (or Winograd-transforms) each
    /// convolution's weights from `source` (laid out as `plan`'s slices say; `plan`'s own
    /// parameters are not read) and tells `release` the bytes of each once packed, and copies
    /// biases, the head and any convolution run unpacked into a small arena of its own. It
    /// reads nothing from `source` after it returns. Peak memory: whatever of `source` is still
    /// resident plus the packed weights built so far.
    static func packedOnly(_ plan: NetworkPlan, source: UnsafePointer<Float>?,
                           release: @escaping (UnsafeRawPointer, Int) -> Void) -> Network {
        let kernels = Kernels.current
        var packed = Set<Int>()
        var sourceOffsets = [Int](repeating: 0, count: plan.layers.count)
        for (index, layer) in plan.layers.enumerated() {
            guard case .conv(let conv) = layer else { continue }
            sourceOffsets[index] = conv.weights.offset
            if kernels.packs(conv) { packed.insert(index) }
        }
        let (compact, count, moves) = plan.compactLayout(droppingWeightsOf: packed)
        let weights = Network.allocate(max(count, 1))
        weights.initialize(repeating: 0, count: max(count, 1))
        for move in moves where move.count > 0 { (weights + move.to).update(from: source! + move.from, count: move.count) }
        return Network(plan: compact, weights: weights, count: count, owner: nil, kernels: kernels,
                       keepsSourceWeights: false, convWeights: { source! + sourceOffsets[$0] },
                       packed: { release($0, $1 * MemoryLayout<Float>.stride) })
    }

    /// Which kernels run the convolutions; fixed when a network is loaded.
    struct Kernels {
        /// Our own GEMM's kernel (`sb_sgemm.h`), or nil for OpenBLAS.
        var sgemm: Int32?
        /// Whether `.winograd` convolutions run Winograd (else im2col).
        var winograd: Bool

        static var current: Kernels { Kernels(sgemm: Network.preferredSGEMMKernel, winograd: Network.winogradEnabled) }

        /// The strategy `conv` runs with.
        func strategy(_ conv: ConvLayer) -> ConvStrategy { winograd ? conv.strategy : conv.strategy.withoutWinograd }

        /// Whether `conv` runs from a packed or transformed copy of its weights (then the
        /// original weights are not read after load).
        func packs(_ conv: ConvLayer) -> Bool { sgemm != nil || strategy(conv) == .winograd }
    }

    /// Runs `plan` on a weight arena the caller provides (`count` floats, 64-byte aligned, laid
    /// out as `plan`'s slices say), kept alive by `owner`; with `owner` nil the network owns and
    /// frees `weights`.
    /// - Parameters:
    ///   - kernels: the kernels to run (read from the environment by default).
    ///   - keepsSourceWeights: false when `plan`'s packed convolutions have no weights (`packedOnly`).
    ///   - convWeights: where the weights of the convolution at a layer index are read from for
    ///     packing (default: `weights` at the slice's offset).
    ///   - packed: told the weights (pointer, float count) of each convolution once packed or
    ///     transformed, which the network will not read again (the caller may drop those pages).
    init(plan: NetworkPlan, weights: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject?,
         kernels: Kernels = .current, keepsSourceWeights: Bool = true,
         convWeights: ((Int) -> UnsafePointer<Float>)? = nil,
         packed: ((UnsafePointer<Float>, Int) -> Void)? = nil) {
        runPlan = plan
        self.keepsSourceWeights = keepsSourceWeights
        parameters = weights
        parameterCount = count
        weightOwner = owner

        let (offsets, total) = Network.layOut(plan) { plan.shapes[$0].count }
        self.offsets = offsets
        arenaCount = total
        let strategies: [ConvStrategy?] = plan.layers.map { layer in
            guard case .conv(let conv) = layer else { return nil }
            return kernels.strategy(conv)
        }
        executedStrategies = strategies
        func aligned(_ n: Int) -> Int { (n + 15) / 16 * 16 }
        let sgemm = kernels.sgemm
        sgemmKernel = sgemm
        /// Floats of one Winograd convolution's weights as the engine keeps them.
        func transformedFloats(_ conv: ConvLayer) -> Int {
            guard let sgemm else { return aligned(36 * conv.outChannels * Int(conv.window.channels)) }
            return aligned(sb_winograd_packed_floats(sgemm, Int32(conv.outChannels), conv.window.channels))
        }
        func sgemmPlan(_ conv: ConvLayer, weights: UnsafePointer<Float>?, bias: UnsafePointer<Float>?) -> sb_sgemm_conv_plan {
            sb_sgemm_conv_plan(window: conv.window, out_channels: Int32(conv.outChannels), relu: conv.relu ? 1 : 0,
                               kernel: sgemm ?? 0, weights: weights, bias: bias)
        }

        var scratchNeeded = 0
        var transformedCount = 0
        var packedCount = 0
        for (layerIndex, layer) in plan.layers.enumerated() {
            guard case .conv(var conv) = layer else { continue }
            switch strategies[layerIndex] {
            case .winograd:
                scratchNeeded = max(scratchNeeded, sb_winograd_scratch_floats(&conv.window, Int32(conv.outChannels)))
                transformedCount += transformedFloats(conv)
            case .im2col, .subsample, .direct:
                if let sgemm {
                    var plan = sgemmPlan(conv, weights: nil, bias: nil)
                    scratchNeeded = max(scratchNeeded, sb_sgemm_conv_scratch_floats(&plan))
                    packedCount += aligned(sb_sgemm_packed_floats(sgemm, Int32(conv.outChannels), Int32(conv.reduction)))
                } else if strategies[layerIndex] != .direct {
                    scratchNeeded = max(scratchNeeded, conv.reduction * conv.outputPlane)
                }
            case nil:
                break
            }
        }
        scratchCount = scratchNeeded
        scratch = Network.allocate(max(scratchNeeded, 1))
        winogradWeightCount = transformedCount
        winogradWeights = Network.allocate(max(transformedCount, 1))
        sgemmWeightCount = packedCount
        sgemmWeights = Network.allocate(max(packedCount, 1))

        var plans: [sb_conv_plan] = []
        var index = [Int](repeating: -1, count: plan.layers.count)
        var winogradPlans: [sb_winograd_plan] = []
        var winogradIndex = [Int](repeating: -1, count: plan.layers.count)
        var sgemmPlans: [sb_sgemm_conv_plan] = []
        var sgemmIndex = [Int](repeating: -1, count: plan.layers.count)
        var transformedCursor = 0
        var packedCursor = 0
        for (layerIndex, layer) in plan.layers.enumerated() {
            guard case .conv(let conv) = layer else { continue }
            let source = convWeights?(layerIndex) ?? UnsafePointer(weights + conv.weights.offset)
            defer { if kernels.packs(conv) { packed?(source, conv.outChannels * conv.reduction) } }
            if strategies[layerIndex] == .winograd {
                let target = winogradWeights + transformedCursor
                let (outChannels, channels) = (Int32(conv.outChannels), conv.window.channels)
                if let sgemm {
                    let u = Network.allocate(36 * conv.outChannels * Int(channels))
                    sb_winograd_weights(source, u, outChannels, channels)
                    sb_winograd_pack(sgemm, u, target, outChannels, channels)
                    free(u)
                } else {
                    sb_winograd_weights(source, target, outChannels, channels)
                }
                transformedCursor += transformedFloats(conv)
                winogradIndex[layerIndex] = winogradPlans.count
                winogradPlans.append(sb_winograd_plan(window: conv.window, out_channels: Int32(conv.outChannels),
                                                      relu: conv.relu ? 1 : 0, weights: target,
                                                      bias: weights + conv.bias.offset))
                continue
            }
            if let sgemm {
                let target = sgemmWeights + packedCursor
                sb_sgemm_pack_a(sgemm, source, Int32(conv.outChannels), Int32(conv.reduction),
                                Int32(conv.reduction), target)
                packedCursor += aligned(sb_sgemm_packed_floats(sgemm, Int32(conv.outChannels), Int32(conv.reduction)))
                sgemmIndex[layerIndex] = sgemmPlans.count
                sgemmPlans.append(sgemmPlan(conv, weights: target, bias: weights + conv.bias.offset))
                continue
            }
            precondition(conv.weights.count == conv.outChannels * conv.reduction, "layer \(layerIndex): a convolution run unpacked has no weights")
            index[layerIndex] = plans.count
            plans.append(sb_conv_plan(window: conv.window, out_channels: Int32(conv.outChannels),
                                      unfold: conv.strategy == .direct ? 0 : 1, relu: conv.relu ? 1 : 0,
                                      weights: weights + conv.weights.offset, bias: weights + conv.bias.offset))
        }
        // The workspace last, so that it is not resident yet while weights are being packed.
        arena = Network.allocate(max(total, 1))
        arena.initialize(repeating: 0, count: max(total, 1))
        convPlans = plans
        convPlanIndex = index
        self.winogradPlans = winogradPlans
        winogradPlanIndex = winogradIndex
        self.sgemmPlans = sgemmPlans
        sgemmPlanIndex = sgemmIndex
        BLASRuntime.threads = 1
    }

    deinit {
        if let pool { sb_pool_destroy(pool) }
        if weightOwner == nil { free(parameters) }
        free(arena)
        free(scratch)
        free(winogradWeights)
        free(sgemmWeights)
    }

    static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        // 64-byte alignment suits AVX-512 loads; failure here is out-of-memory, which we cannot recover from.
        guard posix_memalign(&raw, 64, count * MemoryLayout<Float>.stride) == 0, let raw else {
            preconditionFailure("out of memory allocating \(count * 4) bytes for the network")
        }
        return raw.bindMemory(to: Float.self, capacity: count)
    }

    /// Assigns every activation a place in one arena, reusing the space of activations no
    /// later layer reads (greedy best fit over the layers' order). `size` gives each activation's
    /// size in the arena's units (floats here, bytes in the int8 engine).
    /// `extraReads` lists, by layer index, activations a layer reads beyond its own inputs (kept
    /// alive until it runs); an activation of size 0 gets no space.
    static func layOut(_ plan: NetworkPlan, extraReads: [Int: [Int]] = [:], size: (Int) -> Int) -> (offsets: [Int], total: Int) {
        let count = plan.shapes.count
        var lastUse = [Int](repeating: -1, count: count)
        func reads(_ index: Int) -> [Int] { plan.layers[index].inputs + (extraReads[index] ?? []) }
        for index in plan.layers.indices { for input in reads(index) { lastUse[input] = max(lastUse[input], index) } }
        lastUse[plan.output] = Int.max
        lastUse[plan.input] = max(lastUse[plan.input], 0)

        var bufferSizes: [Int] = []
        var free: [Int] = []
        var assignment = [Int](repeating: -1, count: count)
        func rounded(_ n: Int) -> Int { (n + 15) / 16 * 16 }
        func acquire(_ size: Int) -> Int {
            let fits = free.filter { bufferSizes[$0] >= size }.min { bufferSizes[$0] < bufferSizes[$1] }
            if let pick = fits ?? free.max(by: { bufferSizes[$0] < bufferSizes[$1] }) {
                free.removeAll { $0 == pick }
                bufferSizes[pick] = max(bufferSizes[pick], size)
                return pick
            }
            bufferSizes.append(size)
            return bufferSizes.count - 1
        }
        assignment[plan.input] = acquire(rounded(size(plan.input)))
        for (index, layer) in plan.layers.enumerated() {
            let stored = size(layer.output) > 0
            if stored { assignment[layer.output] = acquire(rounded(size(layer.output))) }
            for input in Set(reads(index)) where lastUse[input] == index && assignment[input] >= 0 { free.append(assignment[input]) }
            if stored && lastUse[layer.output] < index + 1 { free.append(assignment[layer.output]) } // never read
        }
        var bufferOffsets: [Int] = []
        var total = 0
        for size in bufferSizes { bufferOffsets.append(total); total += size }
        return (assignment.map { $0 >= 0 ? bufferOffsets[$0] : 0 }, total)
    }

    /// Runs one image through the network.
    /// - Parameters:
    ///   - input: `inputShape.count` floats, NCHW (already preprocessed).
    ///   - output: receives `outputCount` floats: the model's output as the graph defines it
    ///     (logits, or probabilities when the model ends with Softmax).
    public func forward(input: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) throws(InferenceError) {
        guard input.count == runPlan.inputShape.count else {
            throw InferenceError(.badInput, "input has \(input.count) values; the model takes \(runPlan.inputShape) = \(runPlan.inputShape.count)")
        }
        guard output.count >= outputCount else {
            throw InferenceError(.badInput, "output buffer holds \(output.count) values; the model produces \(outputCount)")
        }
        if let base = input.baseAddress { pointer(runPlan.input).update(from: base, count: input.count) }
        for index in runPlan.layers.indices { run(index) }
        output.baseAddress!.update(from: pointer(runPlan.output), count: outputCount)
    }

    /// Convenience form of `forward(input:output:)` returning a new array.
    public func forward(_ input: [Float]) throws(InferenceError) -> [Float] {
        var output = [Float](repeating: 0, count: outputCount)
        try input.withUnsafeBufferPointer { (source) throws(InferenceError) in
            try output.withUnsafeMutableBufferPointer { (target) throws(InferenceError) in
                try forward(input: source, output: target)
            }
        }
        return output
    }

    /// Runs one image and shows `observe` every activation as it is produced: the input, then
    /// each layer's output (after its fused epilogue). Used by calibration; allocates nothing
    /// beyond what `forward` does.
    func forward(_ input: [Float], observe: (_ activation: Int, _ values: UnsafeBufferPointer<Float>) -> Void) throws(InferenceError) {
        guard input.count == runPlan.inputShape.count else {
            throw InferenceError(.badInput, "input has \(input.count) values; the model takes \(runPlan.inputShape.count)")
        }
        input.withUnsafeBufferPointer { pointer(runPlan.input).update(from: $0.baseAddress!, count: $0.count) }
        observe(runPlan.input, UnsafeBufferPointer(start: pointer(runPlan.input), count: input.count))
        for (index, layer) in runPlan.layers.enumerated() {
            run(index)
            observe(layer.output, UnsafeBufferPointer(start: pointer(layer.output), count: runPlan.shapes[layer.output].count))
        }
    }

    /// Time of one layer in a profiled forward pass.
    public struct LayerTiming: Sendable {
        public var index: Int
        public var description: String
        public var milliseconds: Double
        public var flops: Double
    }

    /// Runs one forward pass timing every layer (for `smartbin bench --layers`).
    public func profile(_ input: [Float]) throws(InferenceError) -> [LayerTiming] {
        guard input.count == runPlan.inputShape.count else {
            throw InferenceError(.badInput, "input has \(input.count) values; the model takes \(runPlan.inputShape.count)")
        }
        input.withUnsafeBufferPointer { pointer(runPlan.input).update(from: $0.baseAddress!, count: $0.count) }
        let names = layerDescriptions
        var timings: [LayerTiming] = []
        timings.reserveCapacity(runPlan.layers.count)
        for (index, layer) in runPlan.layers.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            run(index)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            timings.append(LayerTiming(index: index, description: names[index], milliseconds: elapsed, flops: layer.flops))
        }
        return timings
    }

    @inline(__always)
    private func pointer(_ activation: Int) -> UnsafeMutablePointer<Float> { arena + offsets[activation] }

    @inline(__always)
    private func parameter(_ slice: ParameterSlice) -> UnsafeMutablePointer<Float> { parameters + slice.offset }

    /// Executes one layer.
    private func run(_ index: Int) {
        switch runPlan.layers[index] {
        case .conv(let conv) where winogradPlanIndex[index] >= 0:
            winogradPlans.withUnsafeBufferPointer { plans in
                let plan = plans.baseAddress! + winogradPlanIndex[index]
                let residual = conv.residual.map { UnsafePointer(pointer($0)) }
                if let sgemmKernel {
                    sb_winograd_conv2d_sgemm(plan, plan.pointee.weights, sgemmKernel, pointer(conv.input), residual,
                                             pointer(conv.output), scratch, pool)
                } else {
                    sb_winograd_conv2d(plan, pointer(conv.input), residual, pointer(conv.output), scratch, pool, BLAS.kernel)
                }
            }
        case .conv(let conv) where sgemmPlanIndex[index] >= 0:
            sgemmPlans.withUnsafeBufferPointer { plans in
                sb_sgemm_conv2d(plans.baseAddress! + sgemmPlanIndex[index], pointer(conv.input),
                                conv.residual.map { UnsafePointer(pointer($0)) }, pointer(conv.output), scratch, pool)
            }
        case .conv(let conv):
            convPlans.withUnsafeBufferPointer { plans in
                let plan = plans.baseAddress! + convPlanIndex[index]
                sb_conv2d(plan, pointer(conv.input), conv.residual.map { UnsafePointer(pointer($0)) },
                          pointer(conv.output), scratch, pool, BLAS.kernel)
            }
        case .maxPool(let input, let output, var window):
            sb_maxpool_parallel(pointer(input), pointer(output), &window, pool)
        case .averagePool(let input, let output, var window, let includePad):
            sb_avgpool(pointer(input), pointer(output), &window, includePad ? 1 : 0)
        case .globalAveragePool(let input, let output, let channels, let plane):
            sb_global_avgpool(pointer(input), pointer(output), Int32(channels), Int32(plane))
        case .add(let a, let b, let output, let relu, let count):
            sb_add(pointer(a), pointer(b), pointer(output), count, relu ? 1 : 0)
        case .affine(let input, let output, let scale, let shift, let relu, let shape):
            pointer(output).update(from: pointer(input), count: shape.count)
            sb_epilogue(pointer(output), parameter(scale), parameter(shift), nil, Int32(shape.channels), Int32(shape.plane), relu ? 1 : 0)
        case .relu(let input, let output, let count):
            let source = pointer(input), target = pointer(output)
            for i in 0..<count { target[i] = max(source[i], 0) }
        case .pad(let input, let output, let shape, let pads, let value):
            sb_pad(pointer(input), pointer(output), Int32(shape.channels), Int32(shape.height), Int32(shape.width),
                   Int32(pads[0]), Int32(pads[1]), Int32(pads[2]), Int32(pads[3]), value)
        case .dense(let dense):
            let out = pointer(dense.output)
            // Blocks of rows over the pool: the same blocks (so the same sums) with any thread count.
            sb_gemv_parallel(Int32(dense.outFeatures), Int32(dense.inFeatures), parameter(dense.weights), pointer(dense.input),
                             out, pool, BLAS.gemvKernel)
            sb_epilogue(out, nil, dense.bias.map { UnsafePointer(parameter($0)) }, nil, Int32(dense.outFeatures), 1, dense.relu ? 1 : 0)
        case .softmax(let input, let output, let count):
            pointer(output).update(from: pointer(input), count: count)
            sb_softmax(pointer(output), Int32(count))
        }
    }

    /// A one-line description of every executed layer: name, output shape, GFLOP.
    public var layerDescriptions: [String] {
        runPlan.layers.enumerated().map { index, layer in
            let shape = runPlan.shapes[layer.output]
            var text = "\(layer.name) -> \(shape)"
            if case .conv(let conv) = layer, let strategy = executedStrategies[index] {
                let gemm = sgemmKernel.flatMap { sb_sgemm_kernel_name($0) }.map { " " + String(cString: $0) } ?? ""
                text += " [\(strategy.rawValue)\(gemm)\(conv.residual != nil ? " +residual" : "")\(conv.relu ? " +relu" : "")]"
            }
            if layer.flops > 0 { text += String(format: " %.3f GFLOP", layer.flops / 1e9) }
            return text
        }
    }
}
