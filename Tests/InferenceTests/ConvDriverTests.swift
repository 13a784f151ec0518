import CKernels
import Testing

/// The threaded convolution driver (unfold split by channels, GEMM split by rows or columns,
/// block epilogue) against a plain reference convolution, on seeded random shapes.
@Suite struct ConvDriverTests {
    /// A plain row-major GEMM for the driver to call (C = A * B with leading dimensions).
    static let naiveGemm: sb_gemm_fn = { m, n, k, a, lda, b, ldb, c, ldc in
        guard let a, let b, let c else { return }
        for i in 0..<Int(m) {
            for j in 0..<Int(n) {
                var sum: Float = 0
                for p in 0..<Int(k) { sum += a[i * Int(lda) + p] * b[p * Int(ldb) + j] }
                c[i * Int(ldc) + j] = sum
            }
        }
    }

    /// Reference: im2col twin, then a direct triple loop, then the epilogue twin.
    static func reference(_ w: sb_window, outChannels: Int, weights: [Float], bias: [Float],
                          input: [Float], residual: [Float]?, relu: Bool) -> [Float] {
        var window = w
        let k = Int(w.channels * w.k_h * w.k_w), n = Int(w.out_h * w.out_w)
        var columns = [Float](repeating: 0, count: k * n)
        sb_im2col_ref(input, &columns, &window)
        var out = [Float](repeating: 0, count: outChannels * n)
        for i in 0..<outChannels { for j in 0..<n {
            var sum: Float = 0
            for p in 0..<k { sum += weights[i * k + p] * columns[p * n + j] }
            out[i * n + j] = sum
        } }
        if let residual {
            residual.withUnsafeBufferPointer { r in
                sb_epilogue_ref(&out, nil, bias, r.baseAddress, Int32(outChannels), Int32(n), relu ? 1 : 0)
            }
        } else {
            sb_epilogue_ref(&out, nil, bias, nil, Int32(outChannels), Int32(n), relu ? 1 : 0)
        }
        return out
    }

    @Test(arguments: [1, 2, 3])
    func threadedDriverMatchesReferenceConvolution(threads: Int) throws {
        let pool = try #require(sb_pool_create(Int32(threads)))
        defer { sb_pool_destroy(pool) }
        var rng = SplitMix64(seed: UInt64(100 + threads))
        for trial in 0..<60 {
            var w = sb_window()
            w.channels = Int32.random(in: 1...9, using: &rng)
            w.in_h = Int32.random(in: 1...14, using: &rng); w.in_w = Int32.random(in: 1...14, using: &rng)
            let pointwise = trial % 3 == 0
            w.k_h = pointwise ? 1 : Int32.random(in: 1...min(5, w.in_h), using: &rng)
            w.k_w = pointwise ? 1 : Int32.random(in: 1...min(5, w.in_w), using: &rng)
            w.stride_h = Int32.random(in: 1...2, using: &rng); w.stride_w = w.stride_h
            if !pointwise {
                w.pad_top = Int32.random(in: 0...(w.k_h - 1), using: &rng); w.pad_bottom = w.pad_top
                w.pad_left = Int32.random(in: 0...(w.k_w - 1), using: &rng); w.pad_right = w.pad_left
            }
            w.out_h = (w.in_h + w.pad_top + w.pad_bottom - w.k_h) / w.stride_h + 1
            w.out_w = (w.in_w + w.pad_left + w.pad_right - w.k_w) / w.stride_w + 1
            let m = Int.random(in: 1...40, using: &rng)
            let k = Int(w.channels * w.k_h * w.k_w), n = Int(w.out_h * w.out_w)
            let weights = [Float].random(count: m * k, using: &rng), bias = [Float].random(count: m, using: &rng)
            let input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng)
            let residual: [Float]? = trial % 2 == 0 ? [Float].random(count: m * n, using: &rng) : nil
            let relu = trial % 4 < 2
            let direct = pointwise && w.stride_h == 1
            let expected = Self.reference(w, outChannels: m, weights: weights, bias: bias, input: input, residual: residual, relu: relu)

            var output = [Float](repeating: .nan, count: m * n)
            var scratch = [Float](repeating: .nan, count: max(1, k * n))
            weights.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                var plan = sb_conv_plan(window: w, out_channels: Int32(m), unfold: direct ? 0 : 1, relu: relu ? 1 : 0,
                                        weights: wp.baseAddress, bias: bp.baseAddress)
                if let residual {
                    residual.withUnsafeBufferPointer { rp in
                        sb_conv2d(&plan, input, rp.baseAddress, &output, &scratch, pool, Self.naiveGemm)
                    }
                } else {
                    sb_conv2d(&plan, input, nil, &output, &scratch, pool, Self.naiveGemm)
                }
            } }
            let worst = zip(output, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "trial \(trial), \(threads) thread(s), m \(m) k \(k) n \(n): max |Δ| \(worst)")
        }
    }

    @Test(arguments: [1, 2, 4])
    func parallelMaxPoolEqualsTheReference(threads: Int) throws {
        let pool = try #require(sb_pool_create(Int32(threads)))
        defer { sb_pool_destroy(pool) }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<40 {
            var w = sb_window()
            w.channels = Int32.random(in: 1...17, using: &rng)
            w.in_h = Int32.random(in: 3...20, using: &rng); w.in_w = Int32.random(in: 3...20, using: &rng)
            w.k_h = 3; w.k_w = 3; w.stride_h = 2; w.stride_w = 2
            w.pad_top = 1; w.pad_left = 1; w.pad_bottom = 1; w.pad_right = 1
            w.out_h = (w.in_h + 2 - 3) / 2 + 1; w.out_w = (w.in_w + 2 - 3) / 2 + 1
            let input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng)
            let count = Int(w.channels * w.out_h * w.out_w)
            var fast = [Float](repeating: .nan, count: count), slow = fast
            sb_maxpool_parallel(input, &fast, &w, pool)
            sb_maxpool_ref(input, &slow, &w)
            #expect(fast == slow)
        }
    }

    /// A plain row-major GEMV for the driver to call, y = A x.
    static let naiveGemv: sb_gemv_fn = { m, n, a, lda, x, y in
        guard let a, let x, let y else { return }
        for i in 0..<Int(m) {
            var sum: Float = 0
            for p in 0..<Int(n) { sum += a[i * Int(lda) + p] * x[p] }
            y[i] = sum
        }
    }

    /// The threaded GEMV driver (blocks of rows from a shared counter) gives every row exactly
    /// what one call over all rows gives, with or without a pool, for row counts around the block.
    @Test(arguments: [1, 2, 3])
    func threadedGemvMatchesOneCallExactly(threads: Int) throws {
        let pool = try #require(sb_pool_create(Int32(threads)))
        defer { sb_pool_destroy(pool) }
        var rng = SplitMix64(seed: UInt64(200 + threads))
        let block = Int(SB_GEMV_ROWS)
        for m in [1, 7, block - 1, block, block + 1, 3 * block + 5, 1000] {
            let n = Int.random(in: 1...300, using: &rng)
            let a = [Float].random(count: m * n, using: &rng), x = [Float].random(count: n, using: &rng)
            var expected = [Float](repeating: 0, count: m), threaded = expected, single = expected
            Self.naiveGemv(Int32(m), Int32(n), a, Int32(n), x, &expected)
            sb_gemv_parallel(Int32(m), Int32(n), a, x, &threaded, pool, Self.naiveGemv)
            sb_gemv_parallel(Int32(m), Int32(n), a, x, &single, nil, Self.naiveGemv)
            #expect(threaded == expected, "m \(m) n \(n), \(threads) threads")
            #expect(single == expected, "m \(m) n \(n), no pool")
        }
    }
}
