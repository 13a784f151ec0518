import CKernels
import Foundation
import Testing

/// Our fp32 GEMM (`sb_sgemm.h`), every kernel this CPU runs (always the plain C one), against a
/// double-precision reference on seeded random shapes: the GEMM with its fused epilogue, the B
/// packer with im2col folded in (exactly: it only copies), the threaded convolution driver and
/// Winograd with its 36 GEMMs on sb_sgemm.
///
/// Tolerance: an fp32 dot product of k terms differs from the exact one by at most about
/// k × 2⁻²⁴ × Σ|terms| (and typically by √k × that); each output must be within 1e-5 × Σ|terms|
/// (its products, bias and residual) of the double-precision value, which the summation order
/// of any kernel meets for the k ≤ 1200 used here.
@Suite struct SGEMMTests {
    static var kernels: [Int32] {
        (0..<Int32(SB_SGEMM_KERNEL_COUNT.rawValue)).filter { sb_sgemm_kernel_available($0) != 0 }
    }

    /// 64-byte aligned floats, as the packed weights need.
    final class Aligned {
        let pointer: UnsafeMutablePointer<Float>
        let count: Int
        init(count: Int) {
            var raw: UnsafeMutableRawPointer?
            precondition(posix_memalign(&raw, 64, max(count, 1) * 4) == 0)
            pointer = raw!.bindMemory(to: Float.self, capacity: max(count, 1))
            pointer.initialize(repeating: .nan, count: max(count, 1))
            self.count = count
        }
        deinit { free(pointer) }
    }

    static func packed(_ kernel: Int32, _ a: [Float], m: Int, k: Int) -> Aligned {
        let buffer = Aligned(count: sb_sgemm_packed_floats(kernel, Int32(m), Int32(k)))
        sb_sgemm_pack_a(kernel, a, Int32(m), Int32(k), Int32(k), buffer.pointer)
        return buffer
    }

    /// act(A B + bias + residual) in double, and Σ|terms| per output, for C [m x n] (ldc = n).
    static func reference(m: Int, n: Int, k: Int, a: [Float], b: [Float], ldb: Int, bias: [Float]?,
                          residual: [Float]?, relu: Bool) -> (values: [Double], magnitude: [Double]) {
        var values = [Double](repeating: 0, count: m * n), magnitude = values
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, size = 0.0
                for p in 0..<k {
                    let term = Double(a[i * k + p]) * Double(b[p * ldb + j])
                    sum += term; size += abs(term)
                }
                if let bias { sum += Double(bias[i]); size += abs(Double(bias[i])) }
                if let residual { sum += Double(residual[i * n + j]); size += abs(Double(residual[i * n + j])) }
                values[i * n + j] = relu ? max(sum, 0) : sum
                magnitude[i * n + j] = size
            }
        }
        return (values, magnitude)
    }

    /// The worst |ours - reference| / Σ|terms| (with a floor so that all-zero outputs compare absolutely).
    static func worst(_ ours: UnsafeBufferPointer<Float>, _ reference: (values: [Double], magnitude: [Double])) -> Double {
        var worst = 0.0
        for i in reference.values.indices {
            let error = abs(Double(ours[i]) - reference.values[i]) / max(reference.magnitude[i], 1e-6)
            worst = max(worst, error.isNaN ? .infinity : error)
        }
        return worst
    }

    @Test func everyKernelHasANameAndABlock() {
        #expect(Self.kernels.contains(Int32(SB_SGEMM_KERNEL_REF.rawValue)))
        for kernel in Self.kernels {
            let name = String(cString: sb_sgemm_kernel_name(kernel))
            #expect(sb_sgemm_kernel_from_name(name) == kernel)
            #expect(sb_sgemm_block_m(kernel) > 0 && sb_sgemm_block_n(kernel) > 0)
        }
        #expect(sb_sgemm_kernel_from_name("sse9") == -1)
        #expect(Self.kernels.contains(sb_sgemm_best_kernel()))
    }

    /// sb_sgemm on random m, n, k (k past the driver's k block, m and n past several row blocks
    /// and panels and not multiples of them), leading dimensions wider than the matrices, and
    /// every combination of bias, residual and ReLU.
    @Test(arguments: SGEMMTests.kernels)
    func gemmMatchesDoubleReference(kernel: Int32) {
        var rng = SplitMix64(seed: 900 + UInt64(kernel))
        var worstSeen = 0.0
        for trial in 0..<40 {
            let m = Int.random(in: 1...80, using: &rng), n = Int.random(in: 1...60, using: &rng)
            let k = trial % 5 == 4 ? Int.random(in: 385...1200, using: &rng) : Int.random(in: 1...200, using: &rng)
            let ldb = n + Int.random(in: 0...3, using: &rng)
            let a = [Float].random(count: m * k, using: &rng), b = [Float].random(count: k * ldb, using: &rng)
            let bias: [Float]? = trial % 2 == 0 ? [Float].random(count: m, using: &rng) : nil
            let residual: [Float]? = trial % 3 == 0 ? [Float].random(count: m * n, using: &rng) : nil
            let relu = trial % 4 < 2
            let packedA = Self.packed(kernel, a, m: m, k: k)
            var c = [Float](repeating: .nan, count: m * n)
            let optional = { (array: [Float]?, body: (UnsafePointer<Float>?) -> Void) in
                if let array { array.withUnsafeBufferPointer { body($0.baseAddress) } } else { body(nil) }
            }
            optional(bias) { biasPointer in optional(residual) { residualPointer in
                sb_sgemm(kernel, Int32(m), Int32(n), Int32(k), packedA.pointer, b, Int32(ldb), &c, Int32(n),
                         biasPointer, residualPointer, relu ? 1 : 0)
            } }
            let expected = Self.reference(m: m, n: n, k: k, a: a, b: b, ldb: ldb, bias: bias, residual: residual, relu: relu)
            let error = c.withUnsafeBufferPointer { Self.worst($0, expected) }
            worstSeen = max(worstSeen, error)
            #expect(error <= 1e-5, "\(kernel) trial \(trial): m \(m) n \(n) k \(k): worst |Δ| / Σ|terms| = \(error)")
        }
        print("sgemm \(String(cString: sb_sgemm_kernel_name(kernel))): worst |Δ| / Σ|terms| = \(worstSeen)")
    }

    /// A random convolution window: 1x1 (stride 1 or 2, read in place or gathered), or up to
    /// 7x7 with stride 1-3 and padding, on planes small and wide.
    static func window(_ rng: inout SplitMix64, trial: Int) -> sb_window {
        var w = sb_window()
        w.channels = Int32.random(in: 1...9, using: &rng)
        w.in_h = Int32.random(in: 1...20, using: &rng); w.in_w = Int32.random(in: 1...40, using: &rng)
        let pointwise = trial % 3 == 0
        w.k_h = pointwise ? 1 : Int32.random(in: 1...min(7, w.in_h), using: &rng)
        w.k_w = pointwise ? 1 : Int32.random(in: 1...min(7, w.in_w), using: &rng)
        w.stride_h = Int32.random(in: 1...(pointwise ? 2 : 3), using: &rng)
        w.stride_w = trial % 5 == 1 ? Int32.random(in: 1...3, using: &rng) : w.stride_h
        if !pointwise {
            w.pad_top = Int32.random(in: 0...(w.k_h - 1), using: &rng); w.pad_bottom = Int32.random(in: 0...(w.k_h - 1), using: &rng)
            w.pad_left = Int32.random(in: 0...(w.k_w - 1), using: &rng); w.pad_right = Int32.random(in: 0...(w.k_w - 1), using: &rng)
        }
        w.out_h = (w.in_h + w.pad_top + w.pad_bottom - w.k_h) / w.stride_h + 1
        w.out_w = (w.in_w + w.pad_left + w.pad_right - w.k_w) / w.stride_w + 1
        return w
    }

    /// Packing is a copy: every packed panel equals the im2col twin's columns, bit for bit.
    @Test(arguments: SGEMMTests.kernels)
    func packedPanelsEqualIm2colColumns(kernel: Int32) {
        var rng = SplitMix64(seed: 950 + UInt64(kernel))
        let nr = Int(sb_sgemm_block_n(kernel))
        for trial in 0..<80 {
            var w = Self.window(&rng, trial: trial)
            let k = Int(w.channels * w.k_h * w.k_w), n = Int(w.out_h * w.out_w)
            let input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng)
            var columns = [Float](repeating: 0, count: k * n)
            sb_im2col_ref(input, &columns, &w)
            var mismatches = 0
            for j0 in stride(from: 0, to: n, by: nr) {
                let cols = min(nr, n - j0)
                var panel = [Float](repeating: .nan, count: k * nr)
                sb_sgemm_pack_window(kernel, input, &w, Int32(j0), Int32(cols), &panel)
                for p in 0..<k { for j in 0..<cols where panel[p * nr + j] != columns[p * n + j0 + j] { mismatches += 1 } }
            }
            #expect(mismatches == 0, "kernel \(kernel) trial \(trial), window \(w): \(mismatches) packed values differ")
        }
    }

    /// One sgemm convolution of window `w` with `m` outputs and random weights, bias, input (and
    /// residual), against the double-precision convolution: the worst |Δ| / Σ|terms|. The scratch
    /// starts as NaN, so whatever the driver reads of it must have been written first.
    static func convolutionError(kernel: Int32, window w: sb_window, m: Int, residual withResidual: Bool, relu: Bool,
                                 pool: OpaquePointer, rng: inout SplitMix64) -> Double {
        var w = w
        let k = Int(w.channels * w.k_h * w.k_w), n = Int(w.out_h * w.out_w)
        let weights = [Float].random(count: m * k, using: &rng), bias = [Float].random(count: m, using: &rng)
        let input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng)
        let residual: [Float]? = withResidual ? [Float].random(count: m * n, using: &rng) : nil
        var columns = [Float](repeating: 0, count: k * n)
        sb_im2col_ref(input, &columns, &w)
        let expected = reference(m: m, n: n, k: k, a: weights, b: columns, ldb: n, bias: bias, residual: residual, relu: relu)
        let packedA = packed(kernel, weights, m: m, k: k)
        var output = [Float](repeating: .nan, count: m * n)
        bias.withUnsafeBufferPointer { bp in
            var plan = sb_sgemm_conv_plan(window: w, out_channels: Int32(m), relu: relu ? 1 : 0, kernel: kernel,
                                          weights: packedA.pointer, bias: bp.baseAddress)
            let scratch = Aligned(count: sb_sgemm_conv_scratch_floats(&plan))
            sb_sgemm_conv2d(&plan, input, residual, &output, scratch.pointer, pool)
        }
        return output.withUnsafeBufferPointer { worst($0, expected) }
    }

    /// The threaded convolution driver (B packed per call, or read in place for 1x1 stride 1;
    /// split by row blocks or panels) against the double-precision convolution.
    @Test(arguments: [1, 2, 3])
    func convolutionMatchesDoubleReference(threads: Int) throws {
        let pool = try #require(sb_pool_create(Int32(threads)))
        defer { sb_pool_destroy(pool) }
        for kernel in Self.kernels {
            var rng = SplitMix64(seed: 1000 + UInt64(threads * 10) + UInt64(kernel))
            var worstSeen = 0.0
            for trial in 0..<45 {
                let w = Self.window(&rng, trial: trial)
                // Some layers with many output channels and few pixels (row-block split), as ResNet's last stage.
                let m = trial % 4 == 3 ? Int.random(in: 60...140, using: &rng) : Int.random(in: 1...40, using: &rng)
                let error = Self.convolutionError(kernel: kernel, window: w, m: m, residual: trial % 2 == 0, relu: trial % 4 < 2,
                                                  pool: pool, rng: &rng)
                worstSeen = max(worstSeen, error)
                #expect(error <= 1e-5, "kernel \(kernel), \(threads) thread(s), trial \(trial), window \(w), m \(m): worst |Δ| / Σ|terms| = \(error)")
            }
            print("sgemm conv \(String(cString: sb_sgemm_kernel_name(kernel))), \(threads) thread(s): worst |Δ| / Σ|terms| = \(worstSeen)")
        }
    }

    /// Windows whose output rows are whole panels of 14 columns, which the AVX-512 variant reads
    /// in place from a padded copy of the input (`window_b` in sb_sgemm.c: no packing): column
    /// steps 1, 2 and 3, asymmetric padding, more than one k block (K > 384), residual and ReLU,
    /// 1 and 2 threads, against the double-precision convolution. Other variants pack as before.
    @Test(arguments: [1, 2])
    func windowsReadInPlaceMatchDoubleReference(threads: Int) throws {
        let pool = try #require(sb_pool_create(Int32(threads)))
        defer { sb_pool_destroy(pool) }
        // (channels, in_h, in_w, k_h, k_w, stride, pads top/left/bottom/right, out_h, out_w)
        let shapes: [(Int32, Int32, Int32, Int32, Int32, Int32, [Int32])] = [
            (3, 30, 28, 7, 7, 2, [3, 3, 2, 3]),     // the stem's window, out 15 x 14
            (5, 11, 56, 3, 3, 2, [1, 1, 1, 0]),     // a strided 3x3, out 6 x 28
            (50, 6, 14, 3, 3, 1, [1, 1, 0, 1]),     // stride 1, K = 450: two k blocks
            (2, 10, 42, 3, 3, 3, [0, 0, 2, 0]),     // stride 3
            (4, 9, 27, 5, 2, 2, [2, 0, 1, 1]),      // an even, narrow window
        ]
        var rng = SplitMix64(seed: 1200 + UInt64(threads))
        for kernel in Self.kernels {
            for (trial, shape) in shapes.enumerated() {
                var w = sb_window()
                (w.channels, w.in_h, w.in_w, w.k_h, w.k_w, w.stride_h) = (shape.0, shape.1, shape.2, shape.3, shape.4, shape.5)
                w.stride_w = shape.5
                (w.pad_top, w.pad_left, w.pad_bottom, w.pad_right) = (shape.6[0], shape.6[1], shape.6[2], shape.6[3])
                w.out_h = (w.in_h + w.pad_top + w.pad_bottom - w.k_h) / w.stride_h + 1
                w.out_w = (w.in_w + w.pad_left + w.pad_right - w.k_w) / w.stride_w + 1
                #expect(w.out_w % 14 == 0, "trial \(trial): out_w \(w.out_w) is whole panels")
                let m = trial % 2 == 0 ? 70 : 19
                let error = Self.convolutionError(kernel: kernel, window: w, m: m, residual: trial % 2 == 1, relu: trial % 3 != 1,
                                                  pool: pool, rng: &rng)
                #expect(error <= 1e-5, "kernel \(kernel), \(threads) thread(s), window \(w), m \(m): worst |Δ| / Σ|terms| = \(error)")
            }
        }
    }

    /// Winograd with its GEMMs on sb_sgemm (U packed per ξ) against the im2col reference, held to
    /// the same 1e-4 × max |y| as WinogradTests holds the OpenBLAS form.
    @Test(arguments: [1, 2])
    func winogradOnSGEMMMatchesIm2colReference(threads: Int) throws {
        let pool = try #require(sb_pool_create(Int32(threads)))
        defer { sb_pool_destroy(pool) }
        for kernel in Self.kernels {
            var rng = SplitMix64(seed: 1100 + UInt64(threads * 10) + UInt64(kernel))
            for trial in 0..<24 {
                let c = WinogradTests.Case(&rng, trial: trial, bigEvery: 6, maxBigM: 70)
                let (w, m, n, weights, bias, input, residual, relu, expected) =
                    (c.window, c.m, c.n, c.weights, c.bias, c.input, c.residual, c.relu, c.expected)
                var window = w
                var transformed = [Float](repeating: .nan, count: 36 * m * Int(w.channels))
                sb_winograd_weights(weights, &transformed, Int32(m), w.channels)
                let packedU = Aligned(count: sb_winograd_packed_floats(kernel, Int32(m), w.channels))
                sb_winograd_pack(kernel, transformed, packedU.pointer, Int32(m), w.channels)
                var scratch = [Float](repeating: .nan, count: sb_winograd_scratch_floats(&window, Int32(m)))
                var output = [Float](repeating: .nan, count: m * n)
                bias.withUnsafeBufferPointer { bp in
                    var plan = sb_winograd_plan(window: w, out_channels: Int32(m), relu: relu ? 1 : 0,
                                                weights: nil, bias: bp.baseAddress)
                    if let residual {
                        sb_winograd_conv2d_sgemm(&plan, packedU.pointer, kernel, input, residual, &output, &scratch, pool)
                    } else {
                        sb_winograd_conv2d_sgemm(&plan, packedU.pointer, kernel, input, nil, &output, &scratch, pool)
                    }
                }
                let (delta, scale) = WinogradTests.worst(output, expected)
                #expect(delta <= 1e-4 * scale, "kernel \(kernel), \(threads) thread(s), trial \(trial), window \(w), m \(m): max |Δ| \(delta) of max |y| \(scale)")
            }
        }
    }
}
