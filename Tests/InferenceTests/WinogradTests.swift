import CKernels
import Testing

/// Winograd F(4x4, 3x3): each fast transform against its matrix-product twin, and the whole
/// threaded convolution against the reference im2col convolution, on seeded random shapes.
///
/// Tolerances: the fast and reference transforms do the same arithmetic in a different order,
/// so they agree to a few ulps of the values involved (1e-5 relative to the largest |value|).
/// The Winograd convolution itself rounds differently from the direct sum (its transforms
/// scale values up by up to ~100 before the GEMM and back down after), so it is held to
/// 1e-4 × max |y|, as the brief asks.
@Suite struct WinogradTests {
    /// A random 3x3 stride-1 window with random padding (0...2 on each side, so edge tiles of
    /// every kind occur: partial, fully padded, wider than the input).
    /// One seeded 3x3 stride-1 convolution with its im2col reference output: every `bigEvery`-th
    /// trial has up to 64 channels and a 30-pixel side, residual on even trials, ReLU on half.
    struct Case {
        var window: sb_window
        var m: Int, n: Int
        var weights: [Float], bias: [Float], input: [Float], residual: [Float]?
        var relu: Bool
        var expected: [Float]

        init(_ rng: inout SplitMix64, trial: Int, bigEvery: Int, maxBigM: Int) {
            let big = trial % bigEvery == bigEvery - 1
            window = WinogradTests.window(&rng, maxChannels: big ? 64 : 9, maxSide: big ? 30 : 17)
            m = Int.random(in: 1...(big ? maxBigM : 20), using: &rng)
            n = Int(window.out_h * window.out_w)
            weights = [Float].random(count: m * Int(window.channels) * 9, using: &rng)
            bias = [Float].random(count: m, using: &rng)
            input = [Float].random(count: Int(window.channels * window.in_h * window.in_w), using: &rng)
            residual = trial % 2 == 0 ? [Float].random(count: m * n, using: &rng) : nil
            relu = trial % 4 < 2
            expected = ConvDriverTests.reference(window, outChannels: m, weights: weights, bias: bias,
                                                 input: input, residual: residual, relu: relu)
        }
    }

    static func window(_ rng: inout SplitMix64, maxChannels: Int = 9, maxSide: Int = 17) -> sb_window {
        var w = sb_window()
        w.channels = Int32.random(in: 1...Int32(maxChannels), using: &rng)
        w.in_h = Int32.random(in: 1...Int32(maxSide), using: &rng); w.in_w = Int32.random(in: 1...Int32(maxSide), using: &rng)
        w.k_h = 3; w.k_w = 3; w.stride_h = 1; w.stride_w = 1
        repeat {
            w.pad_top = Int32.random(in: 0...2, using: &rng); w.pad_bottom = Int32.random(in: 0...2, using: &rng)
            w.pad_left = Int32.random(in: 0...2, using: &rng); w.pad_right = Int32.random(in: 0...2, using: &rng)
            w.out_h = w.in_h + w.pad_top + w.pad_bottom - 2
            w.out_w = w.in_w + w.pad_left + w.pad_right - 2
        } while w.out_h < 1 || w.out_w < 1
        return w
    }

    static func worst(_ a: [Float], _ b: [Float]) -> (delta: Float, scale: Float) {
        let delta = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        let scale = b.map { abs($0) }.max() ?? 0
        return (delta, max(scale, .leastNormalMagnitude))
    }

    @Test func weightTransformMatchesItsTwin() {
        var rng = SplitMix64(seed: 31)
        for _ in 0..<20 {
            let m = Int.random(in: 1...12, using: &rng), c = Int.random(in: 1...12, using: &rng)
            let g = [Float].random(count: m * c * 9, using: &rng)
            var fast = [Float](repeating: .nan, count: 36 * m * c), slow = fast
            sb_winograd_weights(g, &fast, Int32(m), Int32(c))
            sb_winograd_weights_ref(g, &slow, Int32(m), Int32(c))
            let (delta, scale) = Self.worst(fast, slow)
            #expect(delta <= 1e-5 * scale, "m \(m) c \(c): max |Δ| \(delta) of \(scale)")
        }
    }

    @Test func inputTransformMatchesItsTwin() {
        var rng = SplitMix64(seed: 32)
        for _ in 0..<40 {
            var w = Self.window(&rng)
            let tiles = Int(sb_winograd_tiles_h(&w) * sb_winograd_tiles_w(&w))
            let input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng)
            var fast = [Float](repeating: .nan, count: 36 * Int(w.channels) * tiles), slow = fast
            sb_winograd_input(input, &fast, &w, 0, w.channels)
            sb_winograd_input_ref(input, &slow, &w, 0, w.channels)
            let (delta, scale) = Self.worst(fast, slow)
            #expect(delta <= 1e-5 * scale, "window \(w): max |Δ| \(delta) of \(scale)")
        }
    }

    @Test func outputTransformMatchesItsTwin() {
        var rng = SplitMix64(seed: 33)
        for trial in 0..<40 {
            var w = Self.window(&rng)
            let m = Int.random(in: 1...9, using: &rng)
            let tiles = Int(sb_winograd_tiles_h(&w) * sb_winograd_tiles_w(&w))
            let plane = Int(w.out_h * w.out_w)
            let transformed = [Float].random(count: 36 * m * tiles, using: &rng)
            let bias = [Float].random(count: m, using: &rng)
            let residual: [Float]? = trial % 2 == 0 ? [Float].random(count: m * plane, using: &rng) : nil
            let relu: Int32 = trial % 4 < 2 ? 1 : 0
            var fast = [Float](repeating: .nan, count: m * plane), slow = fast
            if let residual {
                sb_winograd_output(transformed, &fast, &w, Int32(m), 0, Int32(m), bias, residual, relu)
                sb_winograd_output_ref(transformed, &slow, &w, Int32(m), 0, Int32(m), bias, residual, relu)
            } else {
                sb_winograd_output(transformed, &fast, &w, Int32(m), 0, Int32(m), bias, nil, relu)
                sb_winograd_output_ref(transformed, &slow, &w, Int32(m), 0, Int32(m), bias, nil, relu)
            }
            let (delta, scale) = Self.worst(fast, slow)
            #expect(delta <= 1e-5 * scale, "window \(w), m \(m): max |Δ| \(delta) of \(scale)")
        }
    }

    /// The whole convolution (fast transforms, 36 GEMMs, fused epilogue; split over 1-3
    /// threads) against im2col + a direct triple loop + the epilogue twin.
    @Test(arguments: [1, 2, 3])
    func winogradConvolutionMatchesIm2colReference(threads: Int) throws {
        let pool = try #require(sb_pool_create(Int32(threads)))
        defer { sb_pool_destroy(pool) }
        var rng = SplitMix64(seed: UInt64(300 + threads))
        var worstRelative: Float = 0
        for trial in 0..<40 {
            let c = Case(&rng, trial: trial, bigEvery: 8, maxBigM: 64)
            let (w, m, n, weights, bias, input, residual, relu, expected) =
                (c.window, c.m, c.n, c.weights, c.bias, c.input, c.residual, c.relu, c.expected)

            var window = w
            var transformed = [Float](repeating: .nan, count: 36 * m * Int(w.channels))
            sb_winograd_weights(weights, &transformed, Int32(m), w.channels)
            var scratch = [Float](repeating: .nan, count: sb_winograd_scratch_floats(&window, Int32(m)))
            var output = [Float](repeating: .nan, count: m * n)
            transformed.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                var plan = sb_winograd_plan(window: w, out_channels: Int32(m), relu: relu ? 1 : 0,
                                            weights: wp.baseAddress, bias: bp.baseAddress)
                if let residual {
                    sb_winograd_conv2d(&plan, input, residual, &output, &scratch, pool, ConvDriverTests.naiveGemm)
                } else {
                    sb_winograd_conv2d(&plan, input, nil, &output, &scratch, pool, ConvDriverTests.naiveGemm)
                }
            } }
            let (delta, scale) = Self.worst(output, expected)
            worstRelative = max(worstRelative, delta / scale)
            #expect(delta <= 1e-4 * scale, "trial \(trial), \(threads) thread(s), window \(w), m \(m): max |Δ| \(delta) of max |y| \(scale)")
        }
        print("winograd vs im2col reference, \(threads) thread(s): worst max|Δ| / max|y| = \(worstRelative)")
    }
}
