import CKernels
import Foundation
import Testing

/// The int16 first-layer convolution (`sb_s16_conv_u8`): against its reference twin on seeded
/// random stride-2 windows, byte for byte, and against the fp32 convolution it replaces.
@Suite struct Int16ConvKernelTests {
    struct Case: Sendable, CustomStringConvertible {
        var seed: UInt64
        var description: String { "seed \(seed)" }
    }
    static let cases = (1...10).map { Case(seed: UInt64($0)) }

    /// A random window the scheme takes: stride 2 across, any stride down, odd and even kernels,
    /// widths that end in a full, a half and a partial 32-column tile.
    static func window(_ rng: inout SplitMix64) -> sb_window {
        var w = sb_window()
        w.channels = Int32(1 + rng.next() % 4)
        w.k_h = Int32(1 + rng.next() % 7); w.k_w = Int32(1 + rng.next() % 7)
        w.stride_h = Int32(1 + rng.next() % 2); w.stride_w = 2
        w.pad_top = Int32(rng.next() % UInt64(w.k_h / 2 + 1)); w.pad_bottom = Int32(rng.next() % UInt64(w.k_h / 2 + 1))
        w.pad_left = Int32(rng.next() % UInt64(w.k_w / 2 + 1)); w.pad_right = Int32(rng.next() % UInt64(w.k_w / 2 + 1))
        w.in_h = w.k_h + Int32(rng.next() % 20); w.in_w = w.k_w + Int32(rng.next() % 150)
        w.out_h = (w.in_h + w.pad_top + w.pad_bottom - w.k_h) / w.stride_h + 1
        w.out_w = (w.in_w + w.pad_left + w.pad_right - w.k_w) / w.stride_w + 1
        return w
    }

    /// The layer's parameters and image, quantised and packed as the engine does at load.
    struct Layer {
        var window: sb_window
        let m: Int32, taps: Int
        let image: [Float], bias: [Float]
        var codes: [Int16], scales: [Float], packed: [Int16]

        init(window: sb_window, m: Int32, weights: [Float], image: [Float], bias: [Float]) {
            self.window = window
            self.m = m
            taps = Int(window.channels * window.k_h * window.k_w)
            self.image = image
            self.bias = bias
            codes = [Int16](repeating: 0, count: Int(m) * taps)
            scales = [Float](repeating: 0, count: Int(m))
            sb_s16_quantize_weights(weights, m, Int32(taps), &codes, &scales)
            packed = [Int16](repeating: 0, count: sb_s16_packed_count(&self.window, m))
            sb_s16_pack_weights(codes, &self.window, m, &packed)
        }

        var outputCount: Int { Int(m * window.out_h * window.out_w) }

        func reference(relu: Bool, outScale: Float, outZP: Int32) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: outputCount)
            var w = window
            sb_s16_conv_u8_ref(&w, m, codes, scales, bias, relu ? 1 : 0, image, outScale, outZP, &out)
            return out
        }

        func fast(relu: Bool, outScale: Float, outZP: Int32, threads: Int32, portable: Bool = false) -> [UInt8] {
            var out = [UInt8](repeating: 7, count: outputCount)
            let planes = Int8KernelTests.aligned(sb_s16_planes_bytes([window]))
            defer { planes.deallocate() }
            // Stale codes in the planes must not matter: every call rewrites them, border included.
            planes.initializeMemory(as: UInt8.self, repeating: 0xA5, count: sb_s16_planes_bytes([window]))
            let pool = threads > 1 ? sb_pool_create(threads) : nil
            defer { if let pool { sb_pool_destroy(pool) } }
            packed.withUnsafeBufferPointer { p in
                scales.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { b in
                        var plan = sb_s16_conv_plan(window: window, out_channels: m, relu: relu ? 1 : 0, weights: p.baseAddress,
                                                    weight_scale: s.baseAddress, bias: b.baseAddress)
                        let codes = planes.assumingMemoryBound(to: Int16.self)
                        if portable {
                            sb_s16_conv_u8_portable(&plan, image, codes, &out, outScale, outZP, pool)
                        } else {
                            sb_s16_conv_u8(&plan, image, codes, &out, outScale, outZP, pool)
                        }
                    }
                }
            }
            return out
        }
    }

    @Test(arguments: cases)
    func matchesReferenceTwin(c: Case) {
        var rng = SplitMix64(seed: c.seed)
        let w = Self.window(&rng)
        #expect(sb_s16_conv_supported([w], 20, 0) == 1, "window \(w)")
        let m = Int32(1 + rng.next() % 20)
        let real = { (rng: inout SplitMix64) -> Float in Float(Int(rng.next() % 2001) - 1000) / 400 }
        let taps = Int(w.channels * w.k_h * w.k_w)
        let layer = Layer(window: w, m: m, weights: (0..<Int(m) * taps).map { _ in real(&rng) / 10 },
                          image: (0..<Int(w.channels * w.in_h * w.in_w)).map { _ in real(&rng) },
                          bias: (0..<Int(m)).map { _ in real(&rng) })
        for relu in [false, true] {
            let outZP = relu ? 0 : Int32(rng.next() % 256)
            let expected = layer.reference(relu: relu, outScale: 0.03, outZP: outZP)
            for threads in [Int32(1), 2] {
                #expect(layer.fast(relu: relu, outScale: 0.03, outZP: outZP, threads: threads) == expected,
                        "window \(w), m \(m), relu \(relu), \(threads) thread(s)")
            }
            #expect(layer.fast(relu: relu, outScale: 0.03, outZP: outZP, threads: 1, portable: true) == expected,
                    "portable loop: window \(w), m \(m), relu \(relu)")
        }
    }

    /// ResNet's stem (7x7 stride 2, pad 3, 3 channels) on a 64x64 image: the int16 output is the
    /// fp32 convolution's uint8 quantisation within one step everywhere, and equal almost always.
    @Test func stemIsTheFp32ConvolutionWithinOneStep() {
        var rng = SplitMix64(seed: 77)
        var w = sb_window()
        w.channels = 3; w.in_h = 64; w.in_w = 64; w.k_h = 7; w.k_w = 7; w.stride_h = 2; w.stride_w = 2
        w.pad_top = 3; w.pad_left = 3; w.pad_bottom = 3; w.pad_right = 3; w.out_h = 32; w.out_w = 32
        let m: Int32 = 16, taps = 147
        let gauss = { (rng: inout SplitMix64) -> Float in
            var s: Float = 0
            for _ in 0..<4 { s += Float(rng.next() % 10_000) / 10_000 - 0.5 }
            return s
        }
        let weights = (0..<Int(m) * taps).map { _ in gauss(&rng) * 0.1 }
        let image = (0..<3 * 64 * 64).map { _ in gauss(&rng) * 2 }
        let bias = (0..<Int(m)).map { _ in gauss(&rng) * 0.1 }
        let layer = Layer(window: w, m: m, weights: weights, image: image, bias: bias)
        // The fp32 convolution in double, then the same uint8 quantisation.
        var exact = [Float](repeating: 0, count: layer.outputCount)
        for o in 0..<Int(m) {
            for oy in 0..<32 {
                for ox in 0..<32 {
                    var s = Double(bias[o])
                    for c in 0..<3 {
                        for ky in 0..<7 {
                            for kx in 0..<7 {
                                let iy = oy * 2 - 3 + ky, ix = ox * 2 - 3 + kx
                                guard iy >= 0, iy < 64, ix >= 0, ix < 64 else { continue }
                                s += Double(weights[o * taps + (c * 7 + ky) * 7 + kx]) * Double(image[(c * 64 + iy) * 64 + ix])
                            }
                        }
                    }
                    exact[(o * 32 + oy) * 32 + ox] = Float(s)
                }
            }
        }
        let scale: Float = 0.01
        var expected = [UInt8](repeating: 0, count: exact.count)
        sb_quantize_u8(exact, &expected, exact.count, scale, 0, 1)
        let got = layer.fast(relu: true, outScale: scale, outZP: 0, threads: 1)
        let steps = zip(got, expected).map { abs(Int($0) - Int($1)) }
        let equal = steps.filter { $0 == 0 }.count
        #expect(steps.max()! <= 1)
        #expect(Double(equal) / Double(steps.count) >= 0.98, "\(equal) of \(steps.count) equal")
        #expect(Set(got).count > 50, "the test's scale spreads the outputs over the codes")
    }

    @Test func weightCodesUseTheirRangeAndRoundTrip() {
        var rng = SplitMix64(seed: 5)
        let m: Int32 = 6, k: Int32 = 147
        var weights = (0..<Int(m * k)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 3000 }
        for i in 0..<Int(k) { weights[2 * Int(k) + i] = 0 }   // an all-zero row
        var codes = [Int16](repeating: 0, count: weights.count), scales = [Float](repeating: 0, count: Int(m))
        sb_s16_quantize_weights(weights, m, k, &codes, &scales)
        for r in 0..<Int(m) {
            let row = codes[r * Int(k)..<(r + 1) * Int(k)]
            if r == 2 {
                #expect(row.allSatisfy { $0 == 0 } && scales[r] == 1)
                continue
            }
            #expect(row.map { abs(Int($0)) }.max() == 2047, "row \(r) reaches the code range")
            for i in 0..<Int(k) {
                let back = Float(codes[r * Int(k) + i]) * scales[r]
                #expect(abs(back - weights[r * Int(k) + i]) <= scales[r] / 2 * 1.0001)
            }
        }
    }

    @Test func supportNamesItsLimits() {
        var w = sb_window()
        w.channels = 3; w.in_h = 224; w.in_w = 224; w.k_h = 7; w.k_w = 7; w.stride_h = 2; w.stride_w = 2
        w.pad_top = 3; w.pad_left = 3; w.pad_bottom = 3; w.pad_right = 3; w.out_h = 112; w.out_w = 112
        #expect(sb_s16_conv_supported(&w, 64, 0) == 1)
        var wide = w
        wide.stride_w = 1; wide.out_w = 224
        #expect(sb_s16_conv_supported(&wide, 64, 0) == 0, "stride 1 across has no pair loads")
        var deep = w
        deep.channels = 6   // 6 * 49 = 294 taps: the int32 sum could overflow
        #expect(sb_s16_conv_supported(&deep, 64, 0) == 0)
        #expect(sb_s16_conv_supported(&w, Int32(SB_S16_MAX_CHANNELS) + 1, 0) == 0)
        var past = w
        past.out_w = 113   // a window past the padded input
        #expect(sb_s16_conv_supported(&past, 64, 0) == 0)
    }
}
