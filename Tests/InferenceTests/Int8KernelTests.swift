import BinTestKit
import CKernels
import Foundation
import Testing

/// The int8 GEMM through its C API: every variant this CPU offers against the reference
/// loops, and the full C twin test (native and aarch64 under qemu) via tools/test_kernels.sh.
@Suite struct Int8KernelTests {
    /// Deterministic splitmix64, so a failing shape can be reproduced from its seed.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int32>) -> Int32 {
            range.lowerBound + Int32(next() % UInt64(range.upperBound - range.lowerBound + 1))
        }
    }

    struct Shape: Sendable, CustomStringConvertible {
        var m: Int32, k: Int32, n: Int32, seed: UInt64
        var description: String { "M=\(m) K=\(k) N=\(n) seed=\(seed)" }
    }

    /// ResNet-like shapes (scaled down in N to keep the scalar reference quick) and awkward
    /// remainders that are multiples of no blocking.
    static let shapes: [Shape] = [
        Shape(m: 64, k: 147, n: 300, seed: 1), Shape(m: 256, k: 2304, n: 49, seed: 2),
        Shape(m: 128, k: 1152, n: 196, seed: 3), Shape(m: 1000, k: 2048, n: 1, seed: 4),
        Shape(m: 1, k: 1, n: 1, seed: 5), Shape(m: 13, k: 7, n: 33, seed: 6),
        Shape(m: 37, k: 131, n: 97, seed: 7), Shape(m: 70, k: 299, n: 150, seed: 8),
    ]

    static var availableKernels: [Int32] {
        (0..<Int32(SB_Q8_KERNEL_COUNT.rawValue)).filter { sb_q8_kernel_available($0) != 0 }
    }

    /// A 64-byte aligned scratch buffer, freed by the caller.
    static func aligned(_ bytes: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
    }

    @Test(arguments: shapes)
    func everyVariantMatchesTheReferenceExactly(shape: Shape) throws {
        var rng = SplitMix(state: shape.seed)
        let (m, k, n) = (shape.m, shape.k, shape.n)
        let zp = rng.int(0...255)
        let a = (0..<Int(m * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        let b = (0..<Int(k * n)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let residual = (0..<Int(m * n)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let scale = (0..<Int(m)).map { _ in Float(rng.int(1...1000)) * 2e-6 }
        let bias = (0..<Int(m)).map { _ in Float(rng.int(-400...400)) * 0.1 }

        var acc = [Int32](repeating: 0, count: Int(m * n))
        sb_q8_gemm_acc_ref(a, m, k, k, b, n, n, zp, &acc)

        for kernel in Self.availableKernels {
            let name = String(cString: sb_q8_kernel_name(kernel))
            let packedSize = sb_q8_packed_weights_size(kernel, m, k)
            let workSize = sb_q8_workspace_size(kernel, k)
            #expect(packedSize > 0 && workSize > 0)
            let packed = Self.aligned(packedSize), work = Self.aligned(workSize)
            defer { packed.deallocate(); work.deallocate() }
            #expect(sb_q8_pack_weights(kernel, a, m, k, k, packed, packedSize) == Int32(SB_Q8_OK))

            // Exact int32 accumulators.
            var gotAcc = [Int32](repeating: -1, count: Int(m * n))
            let rc = scale.withUnsafeBufferPointer { s -> Int32 in
                var ep = sb_q8_epilogue()
                ep.scale = s.baseAddress
                ep.out_type = Int32(SB_Q8_OUT_I32.rawValue)
                return sb_q8_gemm(packed, b, n, zp, 0, m, 0, n, &ep, &gotAcc, n, work, workSize)
            }
            #expect(rc == Int32(SB_Q8_OK), "\(name): sb_q8_gemm returned \(rc)")
            #expect(gotAcc == acc, "\(name): int32 accumulators differ for \(shape)")

            // Requantised uint8 with bias, residual and ReLU, computed in two halves of N
            // (as two threads would): bit-identical to the reference epilogue. Zero point 0 (any
            // ReLU output) takes the AVX-512 epilogue's packing path for full panels.
            for outZP: Int32 in [3, 0] {
                var want = [UInt8](repeating: 0, count: Int(m * n))
                var got = [UInt8](repeating: 0xAB, count: Int(m * n))
                scale.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { bb in
                        residual.withUnsafeBufferPointer { r in
                            var ep = sb_q8_epilogue()
                            ep.scale = s.baseAddress
                            ep.bias = bb.baseAddress
                            ep.residual = r.baseAddress
                            ep.ld_residual = n
                            ep.residual_scale = 0.25
                            ep.residual_zp = 7
                            ep.out_zp = outZP
                            ep.relu = 1
                            ep.out_type = Int32(SB_Q8_OUT_U8.rawValue)
                            sb_q8_epilogue_ref(acc, m, n, &ep, &want, n)
                            let half = n / 2
                            let r1 = sb_q8_gemm(packed, b, n, zp, 0, m, 0, half, &ep, &got, n, work, workSize)
                            let r2 = sb_q8_gemm(packed, b, n, zp, 0, m, half, n, &ep, &got, n, work, workSize)
                            #expect(r1 == Int32(SB_Q8_OK) && r2 == Int32(SB_Q8_OK))
                        }
                    }
                }
                #expect(got == want, "\(name): requantised outputs differ for \(shape), zero point \(outZP)")
            }
        }
    }

    @Test func dispatcherPicksAnAvailableVariantAndRefusesBadArguments() {
        let best = sb_q8_best_kernel()
        #expect(sb_q8_kernel_available(best) != 0)
        #expect(sb_q8_kernel_from_name("bogus") == Int32(SB_Q8_E_UNKNOWN))
        #expect(sb_q8_kernel_from_name("dotprod") == Int32(SB_Q8_KERNEL_DOTPROD.rawValue))
        #expect(sb_q8_packed_weights_size(99, 4, 4) == 0)
        #if arch(x86_64)
        #expect(sb_q8_kernel_available(Int32(SB_Q8_KERNEL_NEON.rawValue)) == 0)
        #expect(sb_q8_kernel_available(Int32(SB_Q8_KERNEL_DOTPROD.rawValue)) == 0)
        #endif
        // A misaligned destination is refused, not written.
        let size = sb_q8_packed_weights_size(best, 2, 3)
        let buffer = Self.aligned(size + 64)
        defer { buffer.deallocate() }
        let weights: [Int8] = [1, 2, 3, 4, 5, 6]
        #expect(sb_q8_pack_weights(best, weights, 2, 3, 3, buffer + 1, size) == Int32(SB_Q8_E_ARGUMENT))
        #expect(sb_q8_pack_weights(best, weights, 2, 3, 3, buffer, size - 1) == Int32(SB_Q8_E_BUFFER))
    }

    /// Runs the C twin test natively and, for aarch64, under qemu as Cortex-A72 and -A76.
    @Test(.timeLimit(.minutes(5)))
    func cKernelTestScriptPassesNativelyAndUnderQemu() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("tools/test_kernels.sh")
        let result = try ChildProcess.run("bash", [script.path, "--no-bench"], mergeErrors: true)
        #expect(result.status == 0, "tools/test_kernels.sh failed:\n\(result.stdout)")
    }
}
