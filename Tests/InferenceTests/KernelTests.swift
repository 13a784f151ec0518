import CKernels
import Testing

/// Every fast kernel against its plain reference twin on seeded random shapes.
@Suite struct KernelTests {
    private static func randomWindow(_ rng: inout SplitMix64, allowCeilOverflow: Bool = false) -> sb_window {
        var w = sb_window()
        w.channels = Int32.random(in: 1...5, using: &rng)
        w.in_h = Int32.random(in: 1...19, using: &rng)
        w.in_w = Int32.random(in: 1...19, using: &rng)
        w.k_h = Int32.random(in: 1...min(7, w.in_h + 2), using: &rng)
        w.k_w = Int32.random(in: 1...min(7, w.in_w + 2), using: &rng)
        w.stride_h = Int32.random(in: 1...3, using: &rng)
        w.stride_w = Int32.random(in: 1...3, using: &rng)
        w.pad_top = Int32.random(in: 0...min(3, w.k_h - 1), using: &rng)
        w.pad_bottom = Int32.random(in: 0...min(3, w.k_h - 1), using: &rng)
        w.pad_left = Int32.random(in: 0...min(3, w.k_w - 1), using: &rng)
        w.pad_right = Int32.random(in: 0...min(3, w.k_w - 1), using: &rng)
        let spanH = w.in_h + w.pad_top + w.pad_bottom - w.k_h
        let spanW = w.in_w + w.pad_left + w.pad_right - w.k_w
        if spanH < 0 || spanW < 0 { w.k_h = 1; w.k_w = 1; w.pad_top = 0; w.pad_bottom = 0; w.pad_left = 0; w.pad_right = 0 }
        w.out_h = (w.in_h + w.pad_top + w.pad_bottom - w.k_h) / w.stride_h + 1
        w.out_w = (w.in_w + w.pad_left + w.pad_right - w.k_w) / w.stride_w + 1
        return w
    }

    @Test func im2colMatchesReferenceExactly() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<300 {
            var w = Self.randomWindow(&rng)
            let input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng)
            let count = Int(w.channels * w.k_h * w.k_w * w.out_h * w.out_w)
            var fast = [Float](repeating: .nan, count: count), slow = [Float](repeating: -.nan, count: count)
            sb_im2col(input, &fast, &w)
            sb_im2col_ref(input, &slow, &w)
            #expect(fast == slow, "im2col differs for \(w)")
        }
    }

    @Test func maxPoolMatchesReferenceExactly() {
        var rng = SplitMix64(seed: 2)
        for _ in 0..<300 {
            var w = Self.randomWindow(&rng)
            let input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng)
            let count = Int(w.channels * w.out_h * w.out_w)
            var fast = [Float](repeating: .nan, count: count), slow = [Float](repeating: 0, count: count)
            sb_maxpool(input, &fast, &w)
            sb_maxpool_ref(input, &slow, &w)
            #expect(fast == slow, "maxpool differs for \(w)")
        }
    }

    /// The 3-wide stride-2 window (the stem's pool) takes its own two-pass path: wide rows,
    /// pads 0 to 2, ceil-mode columns and rows past the input, negative values and -inf.
    @Test func stemMaxPoolMatchesReference() {
        var rng = SplitMix64(seed: 12)
        for trial in 0..<200 {
            var w = sb_window()
            w.channels = Int32.random(in: 1...3, using: &rng)
            w.in_h = Int32.random(in: 3...20, using: &rng); w.in_w = Int32.random(in: 3...230, using: &rng)
            w.k_h = 3; w.k_w = 3; w.stride_h = Int32.random(in: 1...2, using: &rng); w.stride_w = 2
            w.pad_top = Int32.random(in: 0...1, using: &rng); w.pad_bottom = w.pad_top
            w.pad_left = Int32.random(in: 0...2, using: &rng); w.pad_right = w.pad_left
            let ceil = Int32(trial % 2)
            w.out_h = (w.in_h + 2 * w.pad_top - 3 + ceil * (w.stride_h - 1)) / w.stride_h + 1
            w.out_w = (w.in_w + 2 * w.pad_left - 3 + ceil) / 2 + 1
            var input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng).map { $0 - 0.5 }
            if trial % 7 == 0 { input[Int(rng.next() % UInt64(input.count))] = -.infinity }
            let count = Int(w.channels * w.out_h * w.out_w)
            var fast = [Float](repeating: .nan, count: count), slow = [Float](repeating: 0, count: count)
            sb_maxpool(input, &fast, &w)
            sb_maxpool_ref(input, &slow, &w)
            #expect(fast == slow, "maxpool differs for \(w)")
        }
    }

    @Test(arguments: [false, true])
    func averagePoolMatchesReference(countIncludePad: Bool) {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<300 {
            var w = Self.randomWindow(&rng)
            let input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng)
            let count = Int(w.channels * w.out_h * w.out_w)
            var fast = [Float](repeating: .nan, count: count), slow = [Float](repeating: 0, count: count)
            sb_avgpool(input, &fast, &w, countIncludePad ? 1 : 0)
            sb_avgpool_ref(input, &slow, &w, countIncludePad ? 1 : 0)
            let worst = zip(fast, slow).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-6, "avgpool differs by \(worst) for \(w)")
        }
    }

    @Test func globalAveragePoolMatchesReference() {
        var rng = SplitMix64(seed: 4)
        for _ in 0..<100 {
            let channels = Int.random(in: 1...64, using: &rng), plane = Int.random(in: 1...3136, using: &rng)
            let input = [Float].random(count: channels * plane, using: &rng)
            var fast = [Float](repeating: .nan, count: channels), slow = fast
            sb_global_avgpool(input, &fast, Int32(channels), Int32(plane))
            sb_global_avgpool_ref(input, &slow, Int32(channels), Int32(plane))
            let worst = zip(fast, slow).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5, "global average differs by \(worst) for \(channels)x\(plane)")
        }
    }

    @Test func epilogueMatchesReferenceForEveryOperandCombination() {
        var rng = SplitMix64(seed: 5)
        for combination in 0..<16 {
            let channels = Int.random(in: 1...32, using: &rng), plane = Int.random(in: 1...200, using: &rng)
            let data = [Float].random(count: channels * plane, using: &rng)
            let scale = [Float].random(count: channels, using: &rng), bias = [Float].random(count: channels, using: &rng)
            let residual = [Float].random(count: channels * plane, using: &rng)
            var fast = data, slow = data
            let useScale = combination & 1 != 0, useBias = combination & 2 != 0
            let useResidual = combination & 4 != 0, relu: Int32 = combination & 8 != 0 ? 1 : 0
            scale.withUnsafeBufferPointer { s in bias.withUnsafeBufferPointer { b in residual.withUnsafeBufferPointer { r in
                sb_epilogue(&fast, useScale ? s.baseAddress : nil, useBias ? b.baseAddress : nil, useResidual ? r.baseAddress : nil,
                            Int32(channels), Int32(plane), relu)
                sb_epilogue_ref(&slow, useScale ? s.baseAddress : nil, useBias ? b.baseAddress : nil, useResidual ? r.baseAddress : nil,
                                Int32(channels), Int32(plane), relu)
            } } }
            #expect(fast == slow, "epilogue differs for combination \(combination)")
            if relu != 0 { #expect(fast.allSatisfy { $0 >= 0 }) }
        }
    }

    @Test func padMatchesReferenceExactly() {
        var rng = SplitMix64(seed: 6)
        for _ in 0..<100 {
            let c = Int32.random(in: 1...4, using: &rng), h = Int32.random(in: 1...12, using: &rng), w = Int32.random(in: 1...12, using: &rng)
            let p = (0..<4).map { _ in Int32.random(in: 0...3, using: &rng) }
            let value = Float.random(in: -2...2, using: &rng)
            let input = [Float].random(count: Int(c * h * w), using: &rng)
            let count = Int(c * (h + p[0] + p[2]) * (w + p[1] + p[3]))
            var fast = [Float](repeating: .nan, count: count), slow = fast
            sb_pad(input, &fast, c, h, w, p[0], p[1], p[2], p[3], value)
            sb_pad_ref(input, &slow, c, h, w, p[0], p[1], p[2], p[3], value)
            #expect(fast == slow)
        }
    }

    @Test func softmaxSumsToOneAndKeepsOrder() {
        var rng = SplitMix64(seed: 7)
        var values = [Float].random(count: 1000, using: &rng).map { $0 * 50 }
        let order = values.indices.sorted { values[$0] > values[$1] }
        sb_softmax(&values, 1000)
        #expect(abs(values.reduce(0, +) - 1) < 1e-4)
        #expect(values.indices.sorted { values[$0] > values[$1] }.prefix(10) == order.prefix(10))
    }
}
