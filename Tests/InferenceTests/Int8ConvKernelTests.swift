import CKernels
import Foundation
import Testing

/// The uint8 activation kernels and the threaded int8 convolution against their reference
/// twins on seeded random shapes: exact, byte for byte.
@Suite struct Int8ConvKernelTests {
    struct Case: Sendable, CustomStringConvertible {
        var seed: UInt64
        var description: String { "seed \(seed)" }
    }
    static let cases = (1...12).map { Case(seed: UInt64($0)) }

    static func window(_ rng: inout SplitMix64) -> sb_window {
        let k = [1, 1, 3, 3, 5, 7][Int(rng.next() % 6)]
        let stride = Int32(1 + rng.next() % 2)
        let pad = Int32(rng.next() % UInt64(k / 2 + 1))
        var w = sb_window()
        w.channels = Int32(1 + rng.next() % 9)
        w.in_h = Int32(k) + Int32(rng.next() % 12); w.in_w = Int32(k) + Int32(rng.next() % 12)
        w.k_h = Int32(k); w.k_w = Int32(k)
        w.stride_h = stride; w.stride_w = stride
        w.pad_top = pad; w.pad_left = pad; w.pad_bottom = Int32(rng.next() % UInt64(pad + 1)); w.pad_right = pad
        w.out_h = (w.in_h + w.pad_top + w.pad_bottom - w.k_h) / stride + 1
        w.out_w = (w.in_w + w.pad_left + w.pad_right - w.k_w) / stride + 1
        return w
    }

    static func bytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    @Test(arguments: cases)
    func im2colU8MatchesReference(c: Case) {
        var rng = SplitMix64(seed: c.seed)
        var w = Self.window(&rng)
        let src = Self.bytes(Int(w.channels * w.in_h * w.in_w), &rng)
        let pad = UInt8(truncatingIfNeeded: rng.next())
        let count = Int(w.channels * w.k_h * w.k_w * w.out_h * w.out_w)
        var fast = [UInt8](repeating: 1, count: count), slow = [UInt8](repeating: 2, count: count)
        sb_im2col_u8(src, &fast, &w, pad)
        sb_im2col_u8_ref(src, &slow, &w, pad)
        #expect(fast == slow, "window \(w)")
    }

    /// A seeded random int8 dense layer: m x k weights, the fp32 input, row scales and biases.
    static func randomDense(seed: UInt64, maxRows: UInt64, maxColumns: UInt64)
        -> (m: Int32, k: Int32, w: [Int8], x: [Float], scale: [Float], bias: [Float]) {
        var rng = SplitMix64(seed: seed)
        let m = Int32(1 + rng.next() % maxRows), k = Int32(1 + rng.next() % maxColumns)
        let w = (0..<Int(m * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        let x = (0..<Int(k)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 }
        let scale = (0..<Int(m)).map { _ in Float(1 + rng.next() % 100) / 1000 }
        let bias = (0..<Int(m)).map { _ in Float(Int(rng.next() % 201) - 100) / 10 }
        return (m, k, w, x, scale, bias)
    }

    /// The int8-weight dense layer (the classifier head) against its in-order reference: fp32,
    /// within 1e-5 of the row's sum of |w * x| (the lanes only reorder the additions).
    @Test(arguments: cases)
    func denseS8F32MatchesReference(c: Case) {
        let (m, k, w, x, scale, bias) = Self.randomDense(seed: c.seed &+ 90, maxRows: 40, maxColumns: 300)
        let relu = Int32(c.seed % 2)
        var fast = [Float](repeating: 0, count: Int(m)), slow = fast
        sb_dense_s8_f32(w, scale, bias, x, &fast, m, k, relu)
        sb_dense_s8_f32_ref(w, scale, bias, x, &slow, m, k, relu)
        for r in 0..<Int(m) {
            let magnitude = (0..<Int(k)).reduce(Float(0)) { $0 + abs(Float(w[r * Int(k) + $1]) * x[$1]) } * scale[r]
            #expect(abs(fast[r] - slow[r]) <= 1e-5 * magnitude + 1e-6, "row \(r): \(fast[r]) vs \(slow[r])")
        }
    }

    /// The head's row-blocked and threaded forms change no bits: every row equals the same
    /// function run on that row alone (the one-row path), with 1 and 2 threads.
    @Test(arguments: cases)
    func denseS8F32RowBlocksAndThreadsKeepEveryRowsBits(c: Case) throws {
        let (m, k, w, x, scale, bias) = Self.randomDense(seed: c.seed &+ 91, maxRows: 70, maxColumns: 700)
        let relu = Int32(c.seed % 2)
        var single = [Float](repeating: 0, count: Int(m))
        for r in 0..<Int(m) {
            var one: Float = 0
            w.withUnsafeBufferPointer { wp in
                scale.withUnsafeBufferPointer { sp in
                    bias.withUnsafeBufferPointer { bp in
                        sb_dense_s8_f32(wp.baseAddress! + r * Int(k), sp.baseAddress! + r, bp.baseAddress! + r, x, &one, 1, k, relu)
                    }
                }
            }
            single[r] = one
        }
        var blocked = [Float](repeating: .nan, count: Int(m))
        sb_dense_s8_f32(w, scale, bias, x, &blocked, m, k, relu)
        #expect(blocked.map(\.bitPattern) == single.map(\.bitPattern), "m \(m) k \(k)")
        let pool = try #require(sb_pool_create(2))
        defer { sb_pool_destroy(pool) }
        var threaded = [Float](repeating: .nan, count: Int(m))
        sb_dense_s8_f32_parallel(w, scale, bias, x, &threaded, m, k, relu, pool)
        #expect(threaded.map(\.bitPattern) == single.map(\.bitPattern), "m \(m) k \(k), 2 threads")
    }

    /// Stride 1 with "same" width takes the one-copy path of the unfold.
    @Test(arguments: cases)
    func im2colU8SamePaddingMatchesReference(c: Case) {
        var rng = SplitMix64(seed: c.seed &+ 50)
        var w = Self.window(&rng)
        w.stride_h = 1; w.stride_w = 1
        w.pad_left = w.k_w / 2; w.pad_right = w.k_w / 2
        w.pad_top = Int32(rng.next() % UInt64(w.k_h)); w.pad_bottom = Int32(rng.next() % UInt64(w.k_h))
        w.out_h = w.in_h + w.pad_top + w.pad_bottom - w.k_h + 1
        w.out_w = w.in_w
        let src = Self.bytes(Int(w.channels * w.in_h * w.in_w), &rng)
        let count = Int(w.channels * w.k_h * w.k_w * w.out_h * w.out_w)
        var fast = [UInt8](repeating: 1, count: count), slow = [UInt8](repeating: 2, count: count)
        sb_im2col_u8(src, &fast, &w, 9)
        sb_im2col_u8_ref(src, &slow, &w, 9)
        #expect(fast == slow, "window \(w)")
    }

    /// The banded fp32 convolution into uint8 (the first conv of an int8 network) equals the
    /// whole-image fp32 convolution followed by quantisation, with a plain triple-loop GEMM.
    @Test(arguments: cases)
    func bandedFP32ConvToU8MatchesWholeImage(c: Case) {
        var rng = SplitMix64(seed: c.seed &+ 70)
        let w = Self.window(&rng)
        let m = Int32(1 + rng.next() % 9), k = Int(w.channels * w.k_h * w.k_w), n = Int(w.out_h * w.out_w)
        let real = { (rng: inout SplitMix64) -> Float in Float(Int(rng.next() % 201) - 100) / 50 }
        let weights = (0..<Int(m) * k).map { _ in real(&rng) }, bias = (0..<Int(m)).map { _ in real(&rng) }
        let input = (0..<Int(w.channels * w.in_h * w.in_w)).map { _ in real(&rng) }
        let gemm: sb_gemm_fn = { m, n, k, a, lda, b, ldb, c, ldc in
            for i in 0..<Int(m) {
                for j in 0..<Int(n) {
                    var s: Float = 0
                    for p in 0..<Int(k) { s += a![i * Int(lda) + p] * b![p * Int(ldb) + j] }
                    c![i * Int(ldc) + j] = s
                }
            }
        }
        let direct = w.k_h == 1 && w.k_w == 1 && w.stride_h == 1 && w.stride_w == 1 && w.pad_top == 0 && w.pad_left == 0 &&
            w.pad_bottom == 0 && w.pad_right == 0
        weights.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in
                var plan = sb_conv_plan(window: w, out_channels: m, unfold: direct ? 0 : 1, relu: Int32(c.seed % 2),
                                        weights: wp.baseAddress, bias: bp.baseAddress)
                var scratch = [Float](repeating: 0, count: k * n), out = [Float](repeating: 0, count: Int(m) * n)
                var whole = [UInt8](repeating: 0, count: Int(m) * n), banded = whole, threaded = whole
                sb_conv2d(&plan, input, nil, &out, &scratch, nil, gemm)
                sb_quantize_u8(out, &whole, out.count, 0.05, 100, 0)
                let band = Int32(1 + rng.next() % 3)
                var bandScratch = [Float](repeating: 0, count: 2 * sb_conv2d_f32_u8_scratch(&plan, band))
                sb_conv2d_f32_u8(&plan, input, &banded, 0.05, 100, band, &bandScratch, nil, gemm)
                let pool = sb_pool_create(2)
                defer { sb_pool_destroy(pool) }
                sb_conv2d_f32_u8(&plan, input, &threaded, 0.05, 100, band, &bandScratch, pool, gemm)
                #expect(banded == whole && threaded == whole, "window \(w), band \(band)")
            }
        }
    }

    @Test(arguments: cases)
    func maxPoolU8MatchesReference(c: Case) {
        var rng = SplitMix64(seed: c.seed)
        var w = Self.window(&rng)
        w.pad_bottom = w.pad_top  // pooling windows always overlap the input
        w.out_h = (w.in_h + 2 * w.pad_top - w.k_h) / w.stride_h + 1
        let src = Self.bytes(Int(w.channels * w.in_h * w.in_w), &rng)
        let count = Int(w.channels * w.out_h * w.out_w)
        var fast = [UInt8](repeating: 1, count: count), slow = [UInt8](repeating: 2, count: count), threaded = fast
        sb_maxpool_u8(src, &fast, &w)
        sb_maxpool_u8_ref(src, &slow, &w)
        let pool = sb_pool_create(2)
        defer { sb_pool_destroy(pool) }
        sb_maxpool_u8_parallel(src, &threaded, &w, pool)
        #expect(fast == slow && threaded == slow, "window \(w)")
    }

    /// The 3-wide stride-2 window (the stem's pool) has its own row pass: wide rows (several
    /// 32-output blocks and a partial one), pads 0 to 2, ceil-mode columns past the input.
    @Test(arguments: cases)
    func stemMaxPoolU8MatchesReference(c: Case) {
        var rng = SplitMix64(seed: c.seed &+ 1000)
        var w = sb_window()
        w.channels = Int32(1 + rng.next() % 4)
        w.in_h = Int32(3 + rng.next() % 20); w.in_w = Int32(3 + rng.next() % 200)
        w.k_h = 3; w.k_w = 3; w.stride_h = Int32(1 + rng.next() % 2); w.stride_w = 2
        w.pad_top = Int32(rng.next() % 2); w.pad_bottom = w.pad_top
        w.pad_left = Int32(rng.next() % 3); w.pad_right = w.pad_left
        w.out_h = (w.in_h + 2 * w.pad_top - 3) / w.stride_h + 1
        w.out_w = (w.in_w + 2 * w.pad_left - 3 + Int32(rng.next() % 2)) / 2 + 1   // + 1: ceil mode's extra column
        let src = Self.bytes(Int(w.channels * w.in_h * w.in_w), &rng)
        let count = Int(w.channels * w.out_h * w.out_w)
        var fast = [UInt8](repeating: 1, count: count), slow = [UInt8](repeating: 2, count: count)
        sb_maxpool_u8(src, &fast, &w)
        sb_maxpool_u8_ref(src, &slow, &w)
        #expect(fast == slow, "window \(w)")
    }

    @Test(arguments: cases)
    func quantizeAndPoolMatchReference(c: Case) {
        var rng = SplitMix64(seed: c.seed)
        let n = Int(1 + rng.next() % 5000)
        let scale = Float(1 + rng.next() % 1000) * 1e-3
        let zp = Int32(rng.next() % 256)
        // Values on exact half steps too, to check round-half-to-even.
        let x = (0..<n).map { i -> Float in i % 7 == 0 ? (Float(Int(rng.next() % 600)) - 300) * 0.5 * scale : Float.random(in: -300...300, using: &rng) * scale }
        for relu in [Int32(0), 1] {
            var fast = [UInt8](repeating: 0, count: n), slow = [UInt8](repeating: 1, count: n)
            sb_quantize_u8(x, &fast, n, scale, zp, relu)
            sb_quantize_u8_ref(x, &slow, n, scale, zp, relu)
            #expect(fast == slow, "scale \(scale) zp \(zp) relu \(relu)")
        }
        let channels = Int32(1 + rng.next() % 40), plane = Int32(1 + rng.next() % 300)
        let u = Self.bytes(Int(channels * plane), &rng)
        var a = [Float](repeating: 0, count: Int(channels)), b = a
        sb_global_avgpool_u8(u, &a, channels, plane, scale, zp)
        sb_global_avgpool_u8_ref(u, &b, channels, plane, scale, zp)
        #expect(a == b)
    }

    /// The threaded int8 convolution (every variant, 1 and 2 threads, with and without residual)
    /// equals im2col_ref + gemm_acc_ref + epilogue_ref exactly.
    @Test(arguments: cases)
    func int8ConvMatchesReferenceTwins(c: Case) throws {
        var rng = SplitMix64(seed: c.seed &+ 100)
        var w = Self.window(&rng)
        w.channels = Int32(1 + rng.next() % 40)
        let direct = w.k_h == 1 && w.stride_h == 1 && w.pad_top == 0 && w.pad_bottom == 0 && w.pad_left == 0 && w.pad_right == 0
        let conv = RandomConv(window: w, &rng)
        for kernel in Int8KernelTests.availableKernels {
            conv.check(kernel: kernel, packedWeights: conv.weights, reduction: conv.k, unfold: !direct, c4: false,
                       scratchBytes: Int(conv.k * conv.n), &rng)
        }
    }

    /// The c4 path (input copied into padded channel-interleaved planes, weights in c4 K order)
    /// equals the reference twins on the original weights exactly, on stride-1 and -2 windows of
    /// several sizes, channel counts that are and are not multiples of four, 1 and 2 threads.
    @Test(arguments: (1...24).map { Case(seed: UInt64($0)) })
    func int8ConvC4MatchesReferenceTwins(c: Case) throws {
        var rng = SplitMix64(seed: c.seed &+ 500)
        var w = sb_window()
        w.channels = Int32(1 + rng.next() % 40)
        w.k_h = [1, 3, 3, 5][Int(rng.next() % 4)]; w.k_w = [1, 3, 3, 2][Int(rng.next() % 4)]
        w.in_h = Int32(1 + rng.next() % 30); w.in_w = Int32(12 + rng.next() % 60)   // >= 5 output columns: at most 8 segments a panel
        w.pad_top = Int32(rng.next() % UInt64(w.k_h)); w.pad_bottom = w.k_h - 1 - w.pad_top
        w.pad_left = Int32(rng.next() % UInt64(w.k_w)); w.pad_right = Int32(rng.next() % UInt64(w.k_w))
        w.stride_h = Int32(1 + rng.next() % 2); w.stride_w = Int32(1 + rng.next() % 2)
        guard w.in_h + w.pad_top + w.pad_bottom >= w.k_h, w.in_w + w.pad_left + w.pad_right >= w.k_w else { return }
        w.out_h = (w.in_h + w.pad_top + w.pad_bottom - w.k_h) / w.stride_h + 1
        w.out_w = (w.in_w + w.pad_left + w.pad_right - w.k_w) / w.stride_w + 1
        let conv = RandomConv(window: w, &rng)
        let kc = sb_q8_c4_reduction(&w)
        var reordered = [Int8](repeating: 0, count: Int(conv.m * kc))
        sb_q8_reorder_c4(conv.weights, conv.m, &w, &reordered)
        var tested = 0
        for kernel in Int8KernelTests.availableKernels where sb_q8_conv_c4_supported(kernel, &w) != 0 {
            tested += 1
            conv.check(kernel: kernel, packedWeights: reordered, reduction: kc, unfold: true, c4: true,
                       scratchBytes: sb_q8_c4_input_bytes(&w), &rng)
        }
        if sb_q8_kernel_available(Int32(SB_Q8_KERNEL_AVX512VNNI.rawValue)) != 0 { #expect(tested > 0) }
    }

    /// With VBMI turned off the packers take the paths of AVX-512 CPUs without it (the SSE byte
    /// interleave of 1x1 panels and c4 copies): the same results as the reference twins, on c4
    /// windows and on 1x1 convolutions (whose B is the input matrix).
    @Test(arguments: (1...8).map { Case(seed: UInt64($0)) })
    func packersWithoutVBMIMatchReferenceTwins(c: Case) throws {
        sb_q8_allow_vbmi(0)
        defer { sb_q8_allow_vbmi(1) }
        var rng = SplitMix64(seed: c.seed &+ 700)
        var w = sb_window()
        w.channels = Int32(1 + rng.next() % 40)
        w.k_h = 3; w.k_w = 3; w.stride_h = Int32(1 + rng.next() % 2); w.stride_w = w.stride_h
        w.in_h = Int32(3 + rng.next() % 20); w.in_w = Int32(12 + rng.next() % 80)
        w.pad_top = 1; w.pad_bottom = 1; w.pad_left = 1; w.pad_right = 1
        w.out_h = (w.in_h + 2 - 3) / w.stride_h + 1
        w.out_w = (w.in_w + 2 - 3) / w.stride_w + 1
        let conv = RandomConv(window: w, &rng)
        let kc = sb_q8_c4_reduction(&w)
        var reordered = [Int8](repeating: 0, count: Int(conv.m * kc))
        sb_q8_reorder_c4(conv.weights, conv.m, &w, &reordered)
        for kernel in Int8KernelTests.availableKernels where sb_q8_conv_c4_supported(kernel, &w) != 0 {
            conv.check(kernel: kernel, packedWeights: reordered, reduction: kc, unfold: true, c4: true,
                       scratchBytes: sb_q8_c4_input_bytes(&w), &rng)
        }
        var pointwise = sb_window()
        pointwise.channels = Int32(1 + rng.next() % 90)
        pointwise.in_h = Int32(1 + rng.next() % 12); pointwise.in_w = Int32(8 + rng.next() % 60)
        pointwise.k_h = 1; pointwise.k_w = 1; pointwise.stride_h = 1; pointwise.stride_w = 1
        pointwise.out_h = pointwise.in_h; pointwise.out_w = pointwise.in_w
        let direct = RandomConv(window: pointwise, &rng)
        for kernel in Int8KernelTests.availableKernels {
            direct.check(kernel: kernel, packedWeights: direct.weights, reduction: direct.k, unfold: false, c4: false,
                         scratchBytes: 64, &rng)
        }
    }

    /// The c4 packer keeps a table of at most 64 taps: a 9x9 window (81 taps) is refused, so it
    /// takes the plain unfold instead; 8x8 (64 taps) is accepted where the variant packs c4 panels.
    @Test func c4PathRefusesWindowsOfMoreThan64Taps() {
        for (side, accepted) in [(Int32(9), false), (8, true)] {
            var w = sb_window()
            w.channels = 8; w.in_h = 40; w.in_w = 40; w.k_h = side; w.k_w = side; w.stride_h = 1; w.stride_w = 1
            w.out_h = w.in_h - side + 1; w.out_w = w.in_w - side + 1
            let vnni = Int32(SB_Q8_KERNEL_AVX512VNNI.rawValue)
            guard sb_q8_kernel_available(vnni) != 0 else { continue }
            #expect((sb_q8_conv_c4_supported(vnni, &w) != 0) == accepted, "\(side)x\(side)")
        }
    }

    /// A seeded random int8 convolution (weights, input, residual, scales, biases) and the check
    /// of `sb_q8_conv2d` against `sb_q8_conv2d_ref` on it.
    struct RandomConv {
        let window: sb_window
        let m: Int32, k: Int32, n: Int32
        let weights: [Int8]
        let input: [UInt8], residual: [UInt8]
        let scale: [Float], bias: [Float]

        init(window w: sb_window, _ rng: inout SplitMix64) {
            window = w
            m = Int32(1 + rng.next() % 70)
            k = w.channels * w.k_h * w.k_w
            n = w.out_h * w.out_w
            weights = (0..<Int(m * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            input = Int8ConvKernelTests.bytes(Int(w.channels * w.in_h * w.in_w), &rng)
            residual = Int8ConvKernelTests.bytes(Int(m * n), &rng)
            let count = Int(m)
            scale = (0..<count).map { _ in Float(1 + rng.next() % 100) * 1e-5 }
            bias = (0..<count).map { _ in Float(Int(rng.next() % 200) - 100) * 0.1 }
        }

        /// Packs `packedWeights` ([m x reduction], in the order the plan expects) for `kernel` and
        /// compares the threaded convolution (1 and 2 threads, with and without residual) with the
        /// reference twins on the original weights, byte for byte.
        func check(kernel: Int32, packedWeights: [Int8], reduction: Int32, unfold: Bool, c4: Bool, scratchBytes: Int,
                   _ rng: inout SplitMix64) {
            let size = sb_q8_packed_weights_size(kernel, m, reduction)
            let packed = Int8KernelTests.aligned(size)
            defer { packed.deallocate() }
            #expect(sb_q8_pack_weights(kernel, packedWeights, m, reduction, reduction, packed, size) == Int32(SB_Q8_OK))
            let wsize = (sb_q8_workspace_size(kernel, reduction) + 63) / 64 * 64
            let workspaces = Int8KernelTests.aligned(wsize * 2)
            defer { workspaces.deallocate() }
            for withResidual in [false, true] {
                // Zero point 0 (any ReLU output) half the time: the AVX-512 epilogue's packing path.
                let outZP = rng.next() % 2 == 0 ? 0 : Int32(rng.next() % 256), relu = Int32(rng.next() % 2), inputZP = Int32(rng.next() % 256)
                scale.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { b in
                        var ep = sb_q8_epilogue()
                        ep.scale = s.baseAddress; ep.bias = b.baseAddress
                        ep.residual_scale = 0.37; ep.residual_zp = 11; ep.out_zp = outZP
                        ep.relu = relu; ep.out_type = Int32(SB_Q8_OUT_U8.rawValue)
                        var plan = sb_q8_conv_plan(window: window, out_channels: m, unfold: unfold ? 1 : 0, input_zp: inputZP,
                                                   packed: UnsafeRawPointer(packed), epilogue: ep,
                                                   block_m: sb_q8_block_m(kernel), block_n: sb_q8_block_n(kernel), c4: c4 ? 1 : 0)
                        var expected = [UInt8](repeating: 0, count: Int(m * n))
                        var refScratch = [UInt8](repeating: 0, count: Int(k * n))
                        var acc = [Int32](repeating: 0, count: Int(m * n))
                        sb_q8_conv2d_ref(&plan, weights, input, withResidual ? residual : nil, &expected, &refScratch, &acc)
                        var scratch = [UInt8](repeating: 0, count: max(scratchBytes, 1))
                        for threads in [Int32(1), 2] {
                            let pool = threads > 1 ? sb_pool_create(threads) : nil
                            defer { if let pool { sb_pool_destroy(pool) } }
                            var got = [UInt8](repeating: 0, count: Int(m * n))
                            let rc = sb_q8_conv2d(&plan, input, withResidual ? residual : nil, &got, &scratch, workspaces, wsize, pool)
                            #expect(rc == Int32(SB_Q8_OK))
                            #expect(got == expected, "kernel \(String(cString: sb_q8_kernel_name(kernel))) threads \(threads) residual \(withResidual) c4 \(c4) M=\(m) window \(window)")
                        }
                    }
                }
            }
        }
    }
}
