import CKernels
import Foundation
import Imaging
import Testing

/// The int16 convolution of an image's bytes (`sb_s16_conv_u8`): against its reference twin on
/// seeded random stride-2 windows and images made of levels, byte for byte; against the fp32
/// convolution it replaces; and its refusals (a value off the levels, levels that are no ladder).
@Suite struct Int16ConvKernelTests {
    struct Case: Sendable, CustomStringConvertible {
        var seed: UInt64
        var description: String { "seed \(seed)" }
    }
    static let cases = (1...10).map { Case(seed: UInt64($0)) }

    /// A random window the scheme takes: stride 2 across, any stride down, odd and even kernels,
    /// widths that end in a full, a partial and a several-tile row of 16-column vectors.
    static func window(_ rng: inout SplitMix64) -> sb_window {
        var w = sb_window()
        w.channels = Int32(1 + rng.next() % 4)
        w.k_h = Int32(1 + rng.next() % 7); w.k_w = Int32(1 + rng.next() % 7)
        w.stride_h = Int32(1 + rng.next() % 2); w.stride_w = 2
        w.pad_top = Int32(rng.next() % UInt64(w.k_h / 2 + 1)); w.pad_bottom = Int32(rng.next() % UInt64(w.k_h / 2 + 1))
        w.pad_left = Int32(rng.next() % UInt64(w.k_w / 2 + 1)); w.pad_right = Int32(rng.next() % UInt64(w.k_w / 2 + 1))
        w.in_h = w.k_h + Int32(rng.next() % 20); w.in_w = w.k_w + Int32(rng.next() % 300)
        w.out_h = (w.in_h + w.pad_top + w.pad_bottom - w.k_h) / w.stride_h + 1
        w.out_w = (w.in_w + w.pad_left + w.pad_right - w.k_w) / w.stride_w + 1
        return w
    }

    /// Levels of `channels` channels: the torch and caffe presets' (cycled), as the bin's
    /// preprocessing builds them.
    static func levels(_ channels: Int, preset: ChannelPreset) -> [Float] {
        let table = Preprocessor(preset: preset).levels
        return (0..<channels).flatMap { table[$0 % 3] }
    }

    /// A layer and an image of levels.
    struct Layer {
        var window: sb_window
        let m: Int32
        let weights: [Float], bias: [Float], levels: [Float]
        var image: [Float]

        init(window: sb_window, m: Int32, weights: [Float], bias: [Float], levels: [Float], bytes: [UInt8]) {
            self.window = window
            self.m = m
            self.weights = weights
            self.bias = bias
            self.levels = levels
            let plane = Int(window.in_h * window.in_w)
            image = bytes.enumerated().map { i, b in levels[(i / plane) * 256 + Int(b)] }
        }

        var outputCount: Int { Int(m * window.out_h * window.out_w) }

        func reference(relu: Bool, outScale: Float, outZP: Int32) -> (Int32, [UInt8]) {
            var out = [UInt8](repeating: 7, count: outputCount)
            var w = window
            let rc = sb_s16_conv_u8_ref(&w, m, weights, bias, levels, outScale, outZP, relu ? 1 : 0, image, &out)
            return (rc, out)
        }

        func fast(relu: Bool, outScale: Float, outZP: Int32, threads: Int32, portable: Bool = false) -> (Int32, [UInt8]) {
            var out = [UInt8](repeating: 7, count: outputCount)
            var w = window
            guard let plan = sb_s16_conv_create(&w, m, weights, bias, levels, outScale, outZP, relu ? 1 : 0) else { return (-1, out) }
            defer { sb_s16_conv_destroy(plan) }
            let bytes = sb_s16_planes_bytes(&w)
            let planes = Int8KernelTests.aligned(bytes)
            defer { planes.deallocate() }
            // Stale bytes in the planes must not matter: every call rewrites them, border included.
            planes.initializeMemory(as: UInt8.self, repeating: 0xA5, count: bytes)
            let pool = threads > 1 ? sb_pool_create(threads) : nil
            defer { if let pool { sb_pool_destroy(pool) } }
            let codes = planes.assumingMemoryBound(to: Int16.self)
            let rc = portable ? sb_s16_conv_u8_portable(plan, image, codes, &out, pool) : sb_s16_conv_u8(plan, image, codes, &out, pool)
            return (rc, out)
        }
    }

    static func random(_ rng: inout SplitMix64, window w: sb_window, m: Int32, preset: ChannelPreset) -> Layer {
        let real = { (rng: inout SplitMix64) -> Float in Float(Int(rng.next() % 2001) - 1000) / 400 }
        let taps = Int(w.channels * w.k_h * w.k_w)
        // Caffe levels run to 150, torch's to 2.6: weights scaled so outputs span the codes.
        let weightScale: Float = preset == .torch ? 0.05 : 0.001
        return Layer(window: w, m: m, weights: (0..<Int(m) * taps).map { _ in real(&rng) * weightScale },
                     bias: (0..<Int(m)).map { _ in real(&rng) }, levels: levels(Int(w.channels), preset: preset),
                     bytes: (0..<Int(w.channels * w.in_h * w.in_w)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    }

    @Test(arguments: cases)
    func matchesReferenceTwin(c: Case) {
        var rng = SplitMix64(seed: c.seed)
        let w = Self.window(&rng)
        #expect(sb_s16_conv_supported([w], 20, 0) == 1, "window \(w)")
        let m = Int32(1 + rng.next() % 20)
        let preset: ChannelPreset = c.seed % 2 == 0 ? .torch : .caffe
        let layer = Self.random(&rng, window: w, m: m, preset: preset)
        for relu in [false, true] {
            let outZP = relu ? 0 : Int32(rng.next() % 256)
            let (rc, expected) = layer.reference(relu: relu, outScale: 0.03, outZP: outZP)
            #expect(rc == 1)
            #expect(Set(expected).count > 8, "the outputs spread over the codes (\(preset))")
            for threads in [Int32(1), 2] {
                let (fastRC, got) = layer.fast(relu: relu, outScale: 0.03, outZP: outZP, threads: threads)
                #expect(fastRC == 1 && got == expected, "window \(w), m \(m), relu \(relu), \(threads) thread(s)")
            }
            let (portableRC, portable) = layer.fast(relu: relu, outScale: 0.03, outZP: outZP, threads: 1, portable: true)
            #expect(portableRC == 1 && portable == expected, "portable loop: window \(w), m \(m), relu \(relu)")
        }
    }

    /// ResNet's stem (7x7 stride 2, pad 3, 3 channels, torch levels) on a 64x64 image: the int16
    /// output is the fp32 convolution's uint8 quantisation within one step everywhere, and equal
    /// almost always (the weights' 15-bit rounding is the only difference).
    @Test(arguments: [ChannelPreset.torch, .caffe])
    func stemIsTheFp32ConvolutionWithinOneStep(preset: ChannelPreset) {
        var rng = SplitMix64(seed: 77)
        var w = sb_window()
        w.channels = 3; w.in_h = 64; w.in_w = 64; w.k_h = 7; w.k_w = 7; w.stride_h = 2; w.stride_w = 2
        w.pad_top = 3; w.pad_left = 3; w.pad_bottom = 3; w.pad_right = 3; w.out_h = 32; w.out_w = 32
        let m: Int32 = 16, taps = 147
        let layer = Self.random(&rng, window: w, m: m, preset: preset)
        let (weights, bias, image) = (layer.weights, layer.bias, layer.image)
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
        let scale: Float = 0.03
        var expected = [UInt8](repeating: 0, count: exact.count)
        sb_quantize_u8(exact, &expected, exact.count, scale, 0, 1)
        let (rc, got) = layer.fast(relu: true, outScale: scale, outZP: 0, threads: 1)
        #expect(rc == 1)
        let steps = zip(got, expected).map { abs(Int($0) - Int($1)) }
        let equal = steps.filter { $0 == 0 }.count
        #expect(steps.max()! <= 1)
        #expect(Double(equal) / Double(steps.count) >= 0.999, "\(equal) of \(steps.count) equal")
        #expect(Set(got).count > 50, "the test's scale spreads the outputs over the codes")
    }

    /// A value off its channel's levels (one ulp away, NaN, a byte of another channel) makes the
    /// convolution refuse the image and leave the output alone, in every path.
    @Test func refusesAnInputOffTheLevels() {
        var rng = SplitMix64(seed: 9)
        var w = sb_window()
        w.channels = 3; w.in_h = 40; w.in_w = 52; w.k_h = 7; w.k_w = 7; w.stride_h = 2; w.stride_w = 2
        w.pad_top = 3; w.pad_left = 3; w.pad_bottom = 3; w.pad_right = 3; w.out_h = 20; w.out_w = 26
        let base = Self.random(&rng, window: w, m: 8, preset: .torch)
        let last = base.image.count - 1
        for (what, change) in [("one ulp up", { (x: Float) in x.nextUp }), ("NaN", { (_: Float) in Float.nan }),
                               ("halfway to the next level", { (x: Float) in x + 0.5 / (255 * 0.229) })] {
            for at in [0, 40 * 52 + 17, last] {
                var layer = base
                layer.image[at] = change(layer.image[at])
                #expect(layer.reference(relu: true, outScale: 0.03, outZP: 0) == (0, [UInt8](repeating: 7, count: layer.outputCount)), "\(what) at \(at)")
                for portable in [false, true] {
                    for threads in [Int32(1), 2] {
                        let (rc, out) = layer.fast(relu: true, outScale: 0.03, outZP: 0, threads: threads, portable: portable)
                        #expect(rc == 0 && out.allSatisfy { $0 == 7 }, "\(what) at \(at), portable \(portable), \(threads) thread(s)")
                    }
                }
            }
        }
    }

    /// Levels that no affine preprocessing makes (flat, uneven, not finite) and bad scales get no plan.
    @Test func levelsThatAreNoLadderGetNoPlan() {
        var w = sb_window()
        w.channels = 3; w.in_h = 16; w.in_w = 16; w.k_h = 3; w.k_w = 3; w.stride_h = 2; w.stride_w = 2
        w.pad_top = 1; w.pad_left = 1; w.pad_bottom = 1; w.pad_right = 1; w.out_h = 8; w.out_w = 8
        let weights = [Float](repeating: 0.1, count: 2 * 27), bias: [Float] = [0, 0]
        let good = Self.levels(3, preset: .torch)
        var flat = good
        for i in 256..<512 { flat[i] = 0.5 }
        var squared = good
        for i in 0..<256 { squared[i] = Float(i * i) / 65_025 }
        var infinite = good
        infinite[700] = .infinity
        let cases: [(String, [Float], Float)] = [("flat channel", flat, 0.03), ("squared channel", squared, 0.03),
                                                 ("infinite level", infinite, 0.03), ("zero scale", good, 0)]
        for (what, levels, scale) in cases {
            let plan = sb_s16_conv_create(&w, 2, weights, bias, levels, scale, 0, 1)
            #expect(plan == nil, "\(what)")
            sb_s16_conv_destroy(plan)
            var out = [UInt8](repeating: 0, count: 2 * 64)
            #expect(sb_s16_conv_u8_ref(&w, 2, weights, bias, levels, scale, 0, 1, [Float](repeating: 0, count: 3 * 256), &out) == -1, "\(what)")
        }
        var nonFinite = weights
        nonFinite[5] = .nan
        #expect(sb_s16_conv_create(&w, 2, nonFinite, bias, good, 0.03, 0, 1) == nil, "a NaN weight")
        let plan = sb_s16_conv_create(&w, 2, weights, bias, good, 0.03, 0, 1)
        #expect(plan != nil, "the torch levels are a ladder")
        sb_s16_conv_destroy(plan)
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
