import CKernels

/// A dense layer (the classifier head) with int8 weights: symmetric int8 per output row,
/// quantised at load from the fp32 weights (whose mapped pages are then dropped), applied to
/// the fp32 input as it is (`sb_dense_s8_f32`): only the weights are rounded. (Quantising the
/// pooled input to uint8 as well cost measurably more fidelity: worst-photo cosine 0.9890 ->
/// 0.9887 on the calibration photos, for no speed-up at N = 1.)
///
/// ResNet50's head is 2048 x 1000: 8 MB of fp32 that every forward pass reads, 2 MB in int8.
/// Owns its packed weights and buffers; `run` allocates nothing. Not thread-safe.
final class QuantizedHead {
    let inFeatures: Int, outFeatures: Int
    /// int8 weights [outFeatures x inFeatures], row-major.
    private let weights: UnsafeMutablePointer<Int8>
    /// Per-row weight scales [outFeatures].
    private let scale: UnsafeMutablePointer<Float>
    /// The bias: the fp32 model's (borrowed) or a corrected copy (owned).
    private var bias: UnsafePointer<Float>?
    private var ownedBias: UnsafeMutablePointer<Float>?
    private let relu: Bool

    /// Quantises `dense`'s weights read from `parameters`, a chunk of rows at a time, calling
    /// `released` on each chunk of fp32 weights once it is no longer needed.
    /// - Parameter bias: a corrected bias replacing the model's (`outFeatures` values), or nil.
    init(_ dense: DenseLayer, parameters: UnsafePointer<Float>, bias corrected: [Float]? = nil, released: ((UnsafeRawPointer, Int) -> Void)?) {
        inFeatures = dense.inFeatures
        outFeatures = dense.outFeatures
        relu = dense.relu
        bias = dense.bias.map { parameters + $0.offset }
        let m = outFeatures, k = inFeatures
        scale = .allocate(capacity: max(m, 1))
        weights = .allocate(capacity: max(m * k, 1))
        let source = parameters + dense.weights.offset
        let chunk = max(1, (1 << 19) / max(k * 4, 1))   // rows per 512 KiB of fp32
        for first in stride(from: 0, to: m, by: chunk) {
            let last = min(m, first + chunk)
            for row in first..<last {
                let w = source + row * k
                var largest: Float = 0
                for j in 0..<k { largest = max(largest, abs(w[j])) }
                let s = largest > 0 ? largest / 127 : 1
                scale[row] = s
                for j in 0..<k { weights[row * k + j] = Int8(max(-127, min(127, (w[j] / s).rounded(.toNearestOrEven)))) }
            }
            released?(UnsafeRawPointer(source + first * k), (last - first) * k * 4)
        }
        if let corrected { setBias(corrected) }
    }

    deinit {
        weights.deallocate()
        scale.deallocate()
        ownedBias?.deallocate()
    }

    /// Replaces the bias by a copy of `values` (`outFeatures` of them).
    func setBias(_ values: [Float]) {
        if ownedBias == nil { ownedBias = .allocate(capacity: max(outFeatures, 1)) }
        for i in 0..<outFeatures { ownedBias![i] = i < values.count ? values[i] : 0 }
        bias = UnsafePointer(ownedBias)
    }

    /// Row `row`'s int8 weights and their scale (for the QDQ export).
    func row(_ row: Int) -> (weights: UnsafeBufferPointer<Int8>, scale: Float) {
        (UnsafeBufferPointer(start: weights + row * inFeatures, count: inFeatures), scale[row])
    }
    /// The bias in use (nil: none).
    var currentBias: [Float]? { bias.map { Array(UnsafeBufferPointer(start: $0, count: outFeatures)) } }

    /// output[outFeatures] = act(W x + b), the rows split over `pool`'s threads (nil: this one).
    func run(_ x: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, pool: OpaquePointer? = nil) {
        sb_dense_s8_f32_parallel(weights, scale, bias, x, output, Int32(outFeatures), Int32(inFeatures), relu ? 1 : 0, pool)
    }
}
