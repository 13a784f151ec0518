import CKernels
import Foundation
import Testing

/// `sb_u8_conv_pair` (a block's last conv and its projection shortcut added in fp32 before one
/// requantisation) against its reference twin on seeded random shapes: exact, byte for byte,
/// for every int8 kernel variant, on 1 and 2 threads.
@Suite struct Int8PairKernelTests {
    static let cases = (1...10).map { Int8ConvKernelTests.Case(seed: UInt64($0)) }

    @Test(arguments: cases)
    func pairMatchesReferenceTwin(c: Int8ConvKernelTests.Case) throws {
        var rng = SplitMix64(seed: c.seed &+ 300)
        // b: any window (the projection, e.g. a strided 1x1); a: over b's output plane, 1x1
        // direct or 3x3 same (the block's last conv).
        var wb = Int8ConvKernelTests.window(&rng)
        wb.channels = Int32(1 + rng.next() % 24)
        var wa = sb_window()
        wa.channels = Int32(1 + rng.next() % 24)
        wa.in_h = wb.out_h; wa.in_w = wb.out_w
        let threeByThree = rng.next() % 3 == 0
        wa.k_h = threeByThree ? 3 : 1; wa.k_w = wa.k_h
        wa.stride_h = 1; wa.stride_w = 1
        let pad: Int32 = threeByThree ? 1 : 0
        wa.pad_top = pad; wa.pad_left = pad; wa.pad_bottom = pad; wa.pad_right = pad
        wa.out_h = wb.out_h; wa.out_w = wb.out_w
        let m = Int32(1 + rng.next() % 300)
        let ka = wa.channels * wa.k_h * wa.k_w, kb = wb.channels * wb.k_h * wb.k_w, n = wa.out_h * wa.out_w
        let directB = wb.k_h == 1 && wb.stride_h == 1 && wb.pad_top == 0 && wb.pad_bottom == 0 && wb.pad_left == 0 && wb.pad_right == 0
        let weightsA = (0..<Int(m * ka)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        let weightsB = (0..<Int(m * kb)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        let inputA = Int8ConvKernelTests.bytes(Int(wa.channels * wa.in_h * wa.in_w), &rng)
        let inputB = Int8ConvKernelTests.bytes(Int(wb.channels * wb.in_h * wb.in_w), &rng)
        let scaleA = (0..<Int(m)).map { _ in Float(1 + rng.next() % 100) * 1e-5 }
        let scaleB = (0..<Int(m)).map { _ in Float(1 + rng.next() % 100) * 1e-5 }
        let biasA = (0..<Int(m)).map { _ in Float(Int(rng.next() % 200) - 100) * 0.01 }
        let zpA = Int32(rng.next() % 256), zpB = Int32(rng.next() % 256)
        // Zero point 0 (any ReLU output) half the time: the AVX-512 pair epilogue's packing path.
        let outScale = Float(1 + rng.next() % 50) * 1e-3, outZP = rng.next() % 2 == 0 ? 0 : Int32(rng.next() % 256)
        let relu = Int32(rng.next() % 2)
        for kernel in Int8KernelTests.availableKernels {
            let packedA = Int8KernelTests.aligned(sb_q8_packed_weights_size(kernel, m, ka))
            let packedB = Int8KernelTests.aligned(sb_q8_packed_weights_size(kernel, m, kb))
            defer { packedA.deallocate(); packedB.deallocate() }
            #expect(sb_q8_pack_weights(kernel, weightsA, m, ka, ka, packedA, sb_q8_packed_weights_size(kernel, m, ka)) == Int32(SB_Q8_OK))
            #expect(sb_q8_pack_weights(kernel, weightsB, m, kb, kb, packedB, sb_q8_packed_weights_size(kernel, m, kb)) == Int32(SB_Q8_OK))
            let wsize = (sb_q8_pair_workspace_size(kernel, ka, kb) + 63) / 64 * 64
            let workspaces = Int8KernelTests.aligned(wsize * 2)
            defer { workspaces.deallocate() }
            scaleA.withUnsafeBufferPointer { sa in
                scaleB.withUnsafeBufferPointer { sb in
                    biasA.withUnsafeBufferPointer { ba in
                        var epA = sb_q8_epilogue(), epB = sb_q8_epilogue()
                        epA.scale = sa.baseAddress; epA.bias = ba.baseAddress; epA.out_type = Int32(SB_Q8_OUT_F32.rawValue)
                        epB.scale = sb.baseAddress; epB.out_type = Int32(SB_Q8_OUT_F32.rawValue)
                        var a = sb_q8_conv_plan(window: wa, out_channels: m, unfold: threeByThree ? 1 : 0, input_zp: zpA,
                                                packed: UnsafeRawPointer(packedA), epilogue: epA,
                                                block_m: sb_q8_block_m(kernel), block_n: sb_q8_block_n(kernel), c4: 0)
                        var b = sb_q8_conv_plan(window: wb, out_channels: m, unfold: directB ? 0 : 1, input_zp: zpB,
                                                packed: UnsafeRawPointer(packedB), epilogue: epB,
                                                block_m: sb_q8_block_m(kernel), block_n: sb_q8_block_n(kernel), c4: 0)
                        var expected = [UInt8](repeating: 0, count: Int(m * n))
                        var refScratch = [UInt8](repeating: 0, count: Int(max(ka, kb) * n))
                        var acc = [Int32](repeating: 0, count: Int(m * n))
                        var fa = [Float](repeating: 0, count: Int(m * n)), fb = fa
                        sb_u8_conv_pair_ref(&a, weightsA, inputA, &b, weightsB, inputB, outScale, outZP, relu, &expected,
                                            &refScratch, &acc, &fa, &fb)
                        var scratch = [UInt8](repeating: 0, count: max(sb_u8_pair_scratch_bytes(&a, &b), 1))
                        for threads in [Int32(1), 2] {
                            let pool = threads > 1 ? sb_pool_create(threads) : nil
                            defer { if let pool { sb_pool_destroy(pool) } }
                            var got = [UInt8](repeating: 0, count: Int(m * n))
                            let rc = sb_u8_conv_pair(&a, inputA, &b, inputB, outScale, outZP, relu, &got, &scratch,
                                                     workspaces, wsize, pool)
                            #expect(rc == Int32(SB_Q8_OK))
                            #expect(got == expected, "kernel \(String(cString: sb_q8_kernel_name(kernel))) threads \(threads) M=\(m) a \(wa) b \(wb)")
                        }
                    }
                }
            }
        }
    }

    /// Mismatched shapes or an epilogue other than fp32 are refused, nothing written.
    @Test func pairRefusesMismatchedPlans() {
        var w = sb_window()
        w.channels = 1; w.in_h = 2; w.in_w = 2; w.k_h = 1; w.k_w = 1; w.stride_h = 1; w.stride_w = 1; w.out_h = 2; w.out_w = 2
        var ep = sb_q8_epilogue()
        ep.out_type = Int32(SB_Q8_OUT_U8.rawValue)
        var a = sb_q8_conv_plan(window: w, out_channels: 2, unfold: 0, input_zp: 0, packed: nil, epilogue: ep, block_m: 1, block_n: 1, c4: 0)
        var b = a
        var out = [UInt8](repeating: 7, count: 8)
        #expect(sb_u8_conv_pair(&a, [0, 0, 0, 0], &b, [0, 0, 0, 0], 1, 0, 0, &out, nil, nil, 0, nil) == Int32(SB_Q8_E_ARGUMENT))
        #expect(out.allSatisfy { $0 == 7 })
    }
}
