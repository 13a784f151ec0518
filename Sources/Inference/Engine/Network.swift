import CKernels
import Foundation

/// A ResNet-style network ready to run: the model description (layers), its weights (one
/// aligned arena, BN folded) and the workspace (every activation, allocated once at load).
/// `forward` allocates nothing.
///
/// Not thread-safe: one forward pass at a time (the workspace is shared). Wrap it in an actor or
/// a lock to share it; `ONNXClassifier` does.
public final class Network {
    let plan: NetworkPlan
    /// The weight arena: owned (copied from the plan) or borrowed from a mapped `.sbm` file.
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
    /// U [36][outChannels][inChannels] (4x the 3x3 weights), back to back, 16-float aligned.
    private let winogradWeights: UnsafeMutablePointer<Float>
    private let winogradWeightCount: Int

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
    public var inputShape: ActivationShape { plan.inputShape }
    /// The layout the source model's input had (the engine itself always takes NCHW).
    public var inputLayout: InputLayout { plan.inputLayout }
    /// Length of the output vector (the number of classes).
    public var outputCount: Int { plan.shapes[plan.output].count }
    /// True when the model's last operator is Softmax (its output already is probabilities).
    public var endsWithSoftmax: Bool { plan.endsWithSoftmax }
    /// Floating-point operations of one forward pass (a multiply-add counts as two).
    public var flops: Double { plan.layers.reduce(0) { $0 + $1.flops } }
    /// Bytes of weights (with the Winograd-transformed copies) and of the workspace.
    public var parameterBytes: Int { (parameterCount + winogradWeightCount) * 4 }
    public var workspaceBytes: Int { (arenaCount + scratchCount) * 4 }
    /// Number of executed layers after fusion.
    public var layerCount: Int { plan.layers.count }

    /// Loads an ONNX model (with its external-data files, if any) and prepares it to run.
    /// - Throws: `InferenceError` naming the file and the node, operator or tensor at fault.
    public static func load(onnx path: String) throws(InferenceError) -> Network {
        let graph = try ONNXLoader.load(path: path)
        return Network(plan: try NetworkBuilder.build(graph, path: path))
    }

    /// Builds from ONNX bytes in memory (`path` names the model in errors).
    public static func load(onnxBytes: Data, path: String) throws(InferenceError) -> Network {
        let graph = try ONNXLoader.load(bytes: onnxBytes, path: path)
        return Network(plan: try NetworkBuilder.build(graph, path: path))
    }

    convenience init(plan: NetworkPlan) {
        let weights = Network.allocate(max(plan.parameters.count, 1))
        plan.parameters.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { weights.update(from: base, count: source.count) }
        }
        self.init(plan: plan, weights: weights, count: plan.parameters.count, owner: nil)
    }

    /// Runs `plan` on a weight arena the caller provides (`count` floats, 64-byte aligned, laid
    /// out as `plan`'s slices say), kept alive by `owner`; with `owner` nil the network owns and
    /// frees `weights`.
    init(plan: NetworkPlan, weights: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject?) {
        self.plan = plan
        parameters = weights
        parameterCount = count
        weightOwner = owner

        let (offsets, total) = Network.layOut(plan) { plan.shapes[$0].count }
        self.offsets = offsets
        arenaCount = total
        arena = Network.allocate(max(total, 1))
        arena.initialize(repeating: 0, count: max(total, 1))
        let winograd = Network.winogradEnabled
        let strategies: [ConvStrategy?] = plan.layers.map { layer in
            guard case .conv(let conv) = layer else { return nil }
            return winograd ? conv.strategy : conv.strategy.withoutWinograd
        }
        executedStrategies = strategies
        func aligned(_ n: Int) -> Int { (n + 15) / 16 * 16 }

        var scratchNeeded = 0
        var transformedCount = 0
        for (layerIndex, layer) in plan.layers.enumerated() {
            guard case .conv(var conv) = layer else { continue }
            switch strategies[layerIndex] {
            case .winograd:
                scratchNeeded = max(scratchNeeded, sb_winograd_scratch_floats(&conv.window, Int32(conv.outChannels)))
                transformedCount += aligned(36 * conv.outChannels * Int(conv.window.channels))
            case .im2col, .subsample:
                scratchNeeded = max(scratchNeeded, conv.reduction * conv.outputPlane)
            case .direct, nil:
                break
            }
        }
        scratchCount = scratchNeeded
        scratch = Network.allocate(max(scratchNeeded, 1))
        winogradWeightCount = transformedCount
        winogradWeights = Network.allocate(max(transformedCount, 1))

        var plans: [sb_conv_plan] = []
        var index = [Int](repeating: -1, count: plan.layers.count)
        var winogradPlans: [sb_winograd_plan] = []
        var winogradIndex = [Int](repeating: -1, count: plan.layers.count)
        var transformedCursor = 0
        for (layerIndex, layer) in plan.layers.enumerated() {
            guard case .conv(let conv) = layer else { continue }
            if strategies[layerIndex] == .winograd {
                let target = winogradWeights + transformedCursor
                sb_winograd_weights(weights + conv.weights.offset, target, Int32(conv.outChannels), conv.window.channels)
                transformedCursor += aligned(36 * conv.outChannels * Int(conv.window.channels))
                winogradIndex[layerIndex] = winogradPlans.count
                winogradPlans.append(sb_winograd_plan(window: conv.window, out_channels: Int32(conv.outChannels),
                                                      relu: conv.relu ? 1 : 0, weights: target,
                                                      bias: weights + conv.bias.offset))
                continue
            }
            index[layerIndex] = plans.count
            plans.append(sb_conv_plan(window: conv.window, out_channels: Int32(conv.outChannels),
                                      unfold: conv.strategy == .direct ? 0 : 1, relu: conv.relu ? 1 : 0,
                                      weights: weights + conv.weights.offset, bias: weights + conv.bias.offset))
        }
        convPlans = plans
        convPlanIndex = index
        self.winogradPlans = winogradPlans
        winogradPlanIndex = winogradIndex
        BLASRuntime.threads = 1
    }

    deinit {
        if let pool { sb_pool_destroy(pool) }
        if weightOwner == nil { free(parameters) }
        free(arena)
        free(scratch)
        free(winogradWeights)
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
        guard input.count == plan.inputShape.count else {
            throw InferenceError(.badInput, "input has \(input.count) values; the model takes \(plan.inputShape) = \(plan.inputShape.count)")
        }
        guard output.count >= outputCount else {
            throw InferenceError(.badInput, "output buffer holds \(output.count) values; the model produces \(outputCount)")
        }
        if let base = input.baseAddress { pointer(plan.input).update(from: base, count: input.count) }
        for index in plan.layers.indices { run(index) }
        output.baseAddress!.update(from: pointer(plan.output), count: outputCount)
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
        guard input.count == plan.inputShape.count else {
            throw InferenceError(.badInput, "input has \(input.count) values; the model takes \(plan.inputShape.count)")
        }
        input.withUnsafeBufferPointer { pointer(plan.input).update(from: $0.baseAddress!, count: $0.count) }
        observe(plan.input, UnsafeBufferPointer(start: pointer(plan.input), count: input.count))
        for (index, layer) in plan.layers.enumerated() {
            run(index)
            observe(layer.output, UnsafeBufferPointer(start: pointer(layer.output), count: plan.shapes[layer.output].count))
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
        guard input.count == plan.inputShape.count else {
            throw InferenceError(.badInput, "input has \(input.count) values; the model takes \(plan.inputShape.count)")
        }
        input.withUnsafeBufferPointer { pointer(plan.input).update(from: $0.baseAddress!, count: $0.count) }
        let names = layerDescriptions
        var timings: [LayerTiming] = []
        timings.reserveCapacity(plan.layers.count)
        for (index, layer) in plan.layers.enumerated() {
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
        switch plan.layers[index] {
        case .conv(let conv) where winogradPlanIndex[index] >= 0:
            winogradPlans.withUnsafeBufferPointer { plans in
                let plan = plans.baseAddress! + winogradPlanIndex[index]
                sb_winograd_conv2d(plan, pointer(conv.input), conv.residual.map { UnsafePointer(pointer($0)) },
                                   pointer(conv.output), scratch, pool, BLAS.kernel)
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
            BLAS.gemv(m: dense.outFeatures, n: dense.inFeatures, a: parameter(dense.weights), x: pointer(dense.input), y: out)
            sb_epilogue(out, nil, dense.bias.map { UnsafePointer(parameter($0)) }, nil, Int32(dense.outFeatures), 1, dense.relu ? 1 : 0)
        case .softmax(let input, let output, let count):
            pointer(output).update(from: pointer(input), count: count)
            sb_softmax(pointer(output), Int32(count))
        }
    }

    /// A one-line description of every executed layer: name, output shape, GFLOP.
    public var layerDescriptions: [String] {
        plan.layers.enumerated().map { index, layer in
            let shape = plan.shapes[layer.output]
            var text = "\(layer.name) -> \(shape)"
            if case .conv(let conv) = layer, let strategy = executedStrategies[index] {
                text += " [\(strategy.rawValue)\(conv.residual != nil ? " +residual" : "")\(conv.relu ? " +relu" : "")]"
            }
            if layer.flops > 0 { text += String(format: " %.3f GFLOP", layer.flops / 1e9) }
            return text
        }
    }
}
