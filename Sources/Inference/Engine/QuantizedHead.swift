import CKernels

/// A dense layer (the classifier head) run in int8: weights symmetric int8 per output row,
/// quantised at load from the fp32 weights (whose mapped pages are then dropped), the fp32
/// input quantised to uint8 per image over its own [min(x, 0), max(x, 0)] range, int32
/// accumulation in the int8 GEMM (N = 1) and an fp32 epilogue (scale, bias, ReLU).
///
/// ResNet50's head is 2048 x 1000: 8 MB of fp32 that every forward pass reads, 2 MB packed.
/// Owns its packed weights and buffers; `run` allocates nothing. Not thread-safe.
final class QuantizedHead {
    let inFeatures: Int, outFeatures: Int
    /// Packed int8 weights [outFeatures x inFeatures] for the engine's kernel variant.
    private let packed: UnsafeMutableRawPointer
    /// Per-row weight scales [outFeatures].
    private let weightScale: UnsafeMutablePointer<Float>
    /// Per-call epilogue multipliers [outFeatures] = weightScale * input scale.
    private let scale: UnsafeMutablePointer<Float>
    private let bias: UnsafePointer<Float>?
    private let relu: Bool
    /// The quantised input [inFeatures].
    private let input: UnsafeMutablePointer<UInt8>

    /// Quantises and packs `dense`'s weights read from `parameters`, a chunk of rows at a time,
    /// calling `released` on each chunk of fp32 weights once it is no longer needed.
    /// - Throws: `InferenceError` when packing fails.
    init(_ dense: DenseLayer, parameters: UnsafePointer<Float>, kernel: Int32,
         released: ((UnsafeRawPointer, Int) -> Void)?) throws(InferenceError) {
        inFeatures = dense.inFeatures
        outFeatures = dense.outFeatures
        relu = dense.relu
        bias = dense.bias.map { parameters + $0.offset }
        let m = outFeatures, k = inFeatures
        weightScale = .allocate(capacity: m)
        scale = .allocate(capacity: m)
        input = .allocate(capacity: k)
        let size = sb_q8_packed_weights_size(kernel, Int32(m), Int32(k))
        packed = UnsafeMutableRawPointer.allocate(byteCount: max(size, 64), alignment: 64)
        let weights = parameters + dense.weights.offset
        let q = UnsafeMutablePointer<Int8>.allocate(capacity: m * k)
        defer { q.deallocate() }
        let chunk = max(1, (1 << 19) / (k * 4))   // rows per 512 KiB of fp32
        for first in stride(from: 0, to: m, by: chunk) {
            let last = min(m, first + chunk)
            for row in first..<last {
                let w = weights + row * k
                var largest: Float = 0
                for j in 0..<k { largest = max(largest, abs(w[j])) }
                let s = largest > 0 ? largest / 127 : 1
                weightScale[row] = s
                for j in 0..<k { q[row * k + j] = Int8(max(-127, min(127, (w[j] / s).rounded(.toNearestOrEven)))) }
            }
            released?(UnsafeRawPointer(weights + first * k), (last - first) * k * 4)
        }
        let rc = sb_q8_pack_weights(kernel, q, Int32(m), Int32(k), Int32(k), packed, size)
        guard size > 0, rc == Int32(SB_Q8_OK) else {
            packed.deallocate(); weightScale.deallocate(); scale.deallocate(); input.deallocate()
            throw InferenceError(.invalidGraph, "dense \(m)x\(k): packing int8 weights failed (error \(rc))")
        }
    }

    deinit {
        packed.deallocate()
        weightScale.deallocate()
        scale.deallocate()
        input.deallocate()
    }

    /// output[outFeatures] = act(W x + b) with `x` quantised to uint8 first; returns the GEMM's code.
    func run(_ x: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
             _ workspace: UnsafeMutableRawPointer, _ workspaceSize: Int) -> Int32 {
        var lo: Float = 0, hi: Float = 0
        sb_minmax(x, inFeatures, &lo, &hi)
        lo = min(lo, 0); hi = max(hi, 0)
        let inScale: Float = hi > lo ? (hi - lo) / 255 : 1
        let zp = Int32(max(0, min(255, (-lo / inScale).rounded(.toNearestOrEven))))
        sb_quantize_u8(x, input, inFeatures, inScale, zp, 0)
        for row in 0..<outFeatures { scale[row] = weightScale[row] * inScale }
        var ep = sb_q8_epilogue()
        ep.scale = UnsafePointer(scale)
        ep.bias = bias
        ep.relu = relu ? 1 : 0
        ep.out_type = Int32(SB_Q8_OUT_F32.rawValue)
        return sb_q8_gemm(packed, input, 1, zp, 0, Int32(outFeatures), 0, 1, &ep, output, 1, workspace, workspaceSize)
    }
}
