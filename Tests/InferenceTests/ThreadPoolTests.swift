import CKernels
import Foundation
import Testing

/// The worker pool (`sb_parallel.h`) with more threads than this machine has cores and with one
/// worker deliberately delayed (late to wake, so the others run its chunks; or stalled inside a
/// chunk, so the caller has to wait for it): every chunk runs exactly once, never two at a time
/// on one thread index, and the parallel layers give the same output, bit for bit, as on one
/// thread. No timing is asserted.
@Suite struct ThreadPoolTests {
    /// A pool and the delay one of its workers gets.
    struct Setup: Sendable, CustomStringConvertible {
        var threads: Int32
        var wakeMicroseconds: Int32 = 0
        var chunkMicroseconds: Int32 = 0
        var description: String { "\(threads) threads, wake +\(wakeMicroseconds) us, chunk +\(chunkMicroseconds) us" }

        /// Creates the pool, with its last worker delayed.
        func makePool() throws -> OpaquePointer {
            let pool = try #require(sb_pool_create(threads))
            if wakeMicroseconds > 0 || chunkMicroseconds > 0 {
                sb_pool_set_test_delay(pool, threads - 1, wakeMicroseconds, chunkMicroseconds)
            }
            return pool
        }
    }

    static let setups: [Setup] = [
        Setup(threads: 2),
        Setup(threads: 3),
        Setup(threads: 8),   // more threads than cores on a 2-core machine
        Setup(threads: 2, wakeMicroseconds: 3000),
        Setup(threads: 3, chunkMicroseconds: 400),
        Setup(threads: 8, wakeMicroseconds: 1000, chunkMicroseconds: 200),
    ]

    /// Chunk log: `hits[chunk]` counts runs, `marks[thread]` is the chunk a thread index is
    /// running, `clashes` counts chunks that found their thread index taken over meanwhile.
    struct ChunkLog {
        var hits: UnsafeMutablePointer<Int32>
        var marks: UnsafeMutablePointer<Int32>
        var clashes: UnsafeMutablePointer<Int32>
        var sink: UnsafeMutablePointer<UInt64>   // keeps the busy work from being optimised away
    }

    static let logChunk: sb_chunk_fn = { context, chunk, _, thread in
        let log = context!.assumingMemoryBound(to: ChunkLog.self).pointee
        log.marks[Int(thread)] = chunk
        var x = UInt64(chunk)
        for _ in 0..<(Int(chunk) % 7) * 300 { x = x &* 6364136223846793005 &+ 1 }   // unequal chunk lengths
        log.sink[Int(thread)] = x
        if log.marks[Int(thread)] != chunk { log.clashes.pointee += 1 }
        log.hits[Int(chunk)] += 1
    }

    static let logTask: sb_task_fn = { context, index, _ in
        context!.assumingMemoryBound(to: ChunkLog.self).pointee.hits[Int(index)] += 1
    }

    /// Elements that differ (bit patterns for floats), so a failure reports a count, not arrays.
    static func differences(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0 != $1 }.count : max(a.count, b.count)
    }

    static func differences(_ a: [Float], _ b: [Float]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count : max(a.count, b.count)
    }

    @Test(arguments: setups)
    func everyChunkRunsExactlyOnce(setup: Setup) throws {
        let pool = try setup.makePool()
        defer { sb_pool_destroy(pool) }
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: 200), marks = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        let clashes = UnsafeMutablePointer<Int32>.allocate(capacity: 1), sink = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
        defer { hits.deallocate(); marks.deallocate(); clashes.deallocate(); sink.deallocate() }
        var log = ChunkLog(hits: hits, marks: marks, clashes: clashes, sink: sink)
        var rng = SplitMix64(seed: UInt64(setup.threads) &* 31 &+ UInt64(setup.wakeMicroseconds))
        for run in 0..<300 {
            hits.initialize(repeating: 0, count: 200); clashes.pointee = 0
            let legacy = run % 5 == 4
            let chunks = legacy ? Int(setup.threads) : Int(1 + rng.next() % 150)
            if legacy {
                sb_pool_run(pool, Self.logTask, &log)
            } else {
                sb_pool_run_chunks(pool, Self.logChunk, &log, Int32(chunks))
            }
            let wrong = (0..<200).filter { hits[$0] != ($0 < chunks ? 1 : 0) }
            #expect(wrong.isEmpty, "run \(run), \(chunks) chunks: chunks \(wrong) ran \(wrong.map { hits[$0] }) times")
            #expect(clashes.pointee == 0, "run \(run): two chunks at once on one thread index")
            if run % 50 == 49 { usleep(2000) }   // let the workers fall asleep now and then
        }
    }

    @Test func chunkCountsAreSeveralPerThreadAndNeverMoreThanUnits() throws {
        #expect(sb_pool_chunks(nil, 100, 4) == 1)
        let pool = try #require(sb_pool_create(2))
        defer { sb_pool_destroy(pool) }
        #expect(sb_pool_chunks(pool, 100, 4) == 8)
        #expect(sb_pool_chunks(pool, 5, 4) == 5)
        #expect(sb_pool_chunks(pool, 1, 4) == 1)
    }

    /// Layers in both of the int8 GEMM's splits: columns (a 3x3 conv on 20x20), rows (3x3 on
    /// 7x7, many output channels), and a strided 1x1.
    static let int8Layers: [(channels: Int32, side: Int32, k: Int32, stride: Int32, m: Int32)] = [
        (24, 20, 3, 1, 40), (64, 7, 3, 1, 96), (16, 14, 1, 2, 64),
    ]

    @Test(arguments: setups)
    func int8ConvolutionIsBitIdenticalToOneThread(setup: Setup) throws {
        let pool = try setup.makePool()
        defer { sb_pool_destroy(pool) }
        var rng = SplitMix64(seed: 7)
        for layer in Self.int8Layers {
            var w = sb_window()
            w.channels = layer.channels; w.in_h = layer.side; w.in_w = layer.side
            w.k_h = layer.k; w.k_w = layer.k; w.stride_h = layer.stride; w.stride_w = layer.stride
            let pad = layer.k / 2
            w.pad_top = pad; w.pad_left = pad; w.pad_bottom = pad; w.pad_right = pad
            w.out_h = (w.in_h + 2 * pad - w.k_h) / w.stride_h + 1; w.out_w = (w.in_w + 2 * pad - w.k_w) / w.stride_w + 1
            let m = layer.m, k = w.channels * w.k_h * w.k_w, n = w.out_h * w.out_w
            let weights = (0..<Int(m * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            let input = Int8ConvKernelTests.bytes(Int(w.channels * w.in_h * w.in_w), &rng)
            let residual = Int8ConvKernelTests.bytes(Int(m * n), &rng)
            let scale = (0..<Int(m)).map { _ in Float(1 + rng.next() % 100) * 1e-5 }
            let bias = (0..<Int(m)).map { _ in Float(Int(rng.next() % 200) - 100) * 0.1 }
            for kernel in Int8KernelTests.availableKernels {
                let size = sb_q8_packed_weights_size(kernel, m, k)
                let packed = Int8KernelTests.aligned(size)
                defer { packed.deallocate() }
                #expect(sb_q8_pack_weights(kernel, weights, m, k, k, packed, size) == Int32(SB_Q8_OK))
                let wsize = (sb_q8_workspace_size(kernel, k) + 63) / 64 * 64
                let workspaces = Int8KernelTests.aligned(wsize * Int(setup.threads))
                defer { workspaces.deallocate() }
                scale.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { b in
                        var ep = sb_q8_epilogue()
                        ep.scale = s.baseAddress; ep.bias = b.baseAddress
                        ep.residual_scale = 0.37; ep.residual_zp = 11; ep.out_zp = 7; ep.relu = 1
                        ep.out_type = Int32(SB_Q8_OUT_U8.rawValue)
                        var plan = sb_q8_conv_plan(window: w, out_channels: m, unfold: layer.k > 1 || layer.stride > 1 ? 1 : 0,
                                                   input_zp: 100, packed: UnsafeRawPointer(packed), epilogue: ep,
                                                   block_m: sb_q8_block_m(kernel), block_n: sb_q8_block_n(kernel), c4: 0)
                        var scratch = [UInt8](repeating: 0, count: Int(k * n))
                        var single = [UInt8](repeating: 0, count: Int(m * n))
                        #expect(sb_q8_conv2d(&plan, input, residual, &single, &scratch, workspaces, wsize, nil) == Int32(SB_Q8_OK))
                        for repeatRun in 0..<4 {
                            var threaded = [UInt8](repeating: 0, count: Int(m * n))
                            #expect(sb_q8_conv2d(&plan, input, residual, &threaded, &scratch, workspaces, wsize, pool) == Int32(SB_Q8_OK))
                            #expect(Self.differences(threaded, single) == 0, "kernel \(String(cString: sb_q8_kernel_name(kernel))), layer \(layer), run \(repeatRun)")
                        }
                    }
                }
            }
        }
    }

    /// The int8 engine's fp32 first conv (bands of output rows in per-thread scratch) and max pool.
    @Test(arguments: setups)
    func bandedFirstConvAndMaxPoolAreBitIdenticalToOneThread(setup: Setup) throws {
        let pool = try setup.makePool()
        defer { sb_pool_destroy(pool) }
        var rng = SplitMix64(seed: 11)
        var w = sb_window()
        w.channels = 3; w.in_h = 40; w.in_w = 36; w.k_h = 7; w.k_w = 7; w.stride_h = 2; w.stride_w = 2
        w.pad_top = 3; w.pad_left = 3; w.pad_bottom = 3; w.pad_right = 3
        w.out_h = (w.in_h + 6 - 7) / 2 + 1; w.out_w = (w.in_w + 6 - 7) / 2 + 1
        let m = 16, k = Int(w.channels * 49), n = Int(w.out_h * w.out_w)
        let weights = [Float].random(count: m * k, using: &rng), bias = [Float].random(count: m, using: &rng)
        let input = [Float].random(count: Int(w.channels * w.in_h * w.in_w), using: &rng)
        let band: Int32 = 2
        weights.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in
                var plan = sb_conv_plan(window: w, out_channels: Int32(m), unfold: 1, relu: 1, weights: wp.baseAddress, bias: bp.baseAddress)
                var bandScratch = [Float](repeating: 0, count: Int(setup.threads) * sb_conv2d_f32_u8_scratch(&plan, band))
                var single = [UInt8](repeating: 0, count: m * n)
                sb_conv2d_f32_u8(&plan, input, &single, 0.05, 100, band, &bandScratch, nil, ConvDriverTests.naiveGemm)
                for run in 0..<3 {
                    var threaded = [UInt8](repeating: 1, count: m * n)
                    sb_conv2d_f32_u8(&plan, input, &threaded, 0.05, 100, band, &bandScratch, pool, ConvDriverTests.naiveGemm)
                    #expect(Self.differences(threaded, single) == 0, "first conv, run \(run)")
                }
            }
        }
        var pw = sb_window()
        pw.channels = 37; pw.in_h = 21; pw.in_w = 19; pw.k_h = 3; pw.k_w = 3; pw.stride_h = 2; pw.stride_w = 2
        pw.pad_top = 1; pw.pad_left = 1; pw.pad_bottom = 1; pw.pad_right = 1
        pw.out_h = (21 + 2 - 3) / 2 + 1; pw.out_w = (19 + 2 - 3) / 2 + 1
        let src = Int8ConvKernelTests.bytes(Int(pw.channels * pw.in_h * pw.in_w), &rng)
        var single = [UInt8](repeating: 0, count: Int(pw.channels * pw.out_h * pw.out_w)), threaded = single
        sb_maxpool_u8_parallel(src, &single, &pw, nil)
        sb_maxpool_u8_parallel(src, &threaded, &pw, pool)
        #expect(Self.differences(threaded, single) == 0, "max pool")
    }

    /// The fp32 engine's layers: the sb_sgemm convolution (both of its splits) and Winograd on
    /// sb_sgemm compute each output the same way whichever thread runs its work item.
    @Test(arguments: setups)
    func fp32ConvolutionIsBitIdenticalToOneThread(setup: Setup) throws {
        let pool = try setup.makePool()
        defer { sb_pool_destroy(pool) }
        var rng = SplitMix64(seed: 13)
        for kernel in SGEMMTests.kernels {
            // (channels, side, k, m): panels split (3x3 on 24x24), row blocks (1x1 on 7x7, many channels).
            for (channels, side, size, m) in [(Int32(16), Int32(24), Int32(3), 40), (Int32(32), Int32(7), Int32(1), 256)] {
                var w = sb_window()
                w.channels = channels; w.in_h = side; w.in_w = side; w.k_h = size; w.k_w = size; w.stride_h = 1; w.stride_w = 1
                let pad = size / 2
                w.pad_top = pad; w.pad_left = pad; w.pad_bottom = pad; w.pad_right = pad
                w.out_h = side; w.out_w = side
                let k = Int(channels * size * size), n = Int(side * side)
                let weights = [Float].random(count: m * k, using: &rng), bias = [Float].random(count: m, using: &rng)
                let input = [Float].random(count: Int(channels * side * side), using: &rng)
                let residual = [Float].random(count: m * n, using: &rng)
                let packedA = SGEMMTests.packed(kernel, weights, m: m, k: k)
                bias.withUnsafeBufferPointer { bp in
                    var plan = sb_sgemm_conv_plan(window: w, out_channels: Int32(m), relu: 1, kernel: kernel,
                                                  weights: packedA.pointer, bias: bp.baseAddress)
                    let scratch = SGEMMTests.Aligned(count: sb_sgemm_conv_scratch_floats(&plan))
                    var single = [Float](repeating: .nan, count: m * n)
                    sb_sgemm_conv2d(&plan, input, residual, &single, scratch.pointer, nil)
                    for run in 0..<3 {
                        var threaded = [Float](repeating: .nan, count: m * n)
                        sb_sgemm_conv2d(&plan, input, residual, &threaded, scratch.pointer, pool)
                        #expect(Self.differences(threaded, single) == 0, "sgemm \(kernel), \(channels)x\(side)x\(side) k\(size), m \(m), run \(run)")
                    }
                }
                guard size == 3 else { continue }
                var transformed = [Float](repeating: .nan, count: 36 * m * Int(channels))
                sb_winograd_weights(weights, &transformed, Int32(m), channels)
                let packedU = SGEMMTests.Aligned(count: sb_winograd_packed_floats(kernel, Int32(m), channels))
                sb_winograd_pack(kernel, transformed, packedU.pointer, Int32(m), channels)
                var scratch = [Float](repeating: .nan, count: sb_winograd_scratch_floats(&w, Int32(m)))
                bias.withUnsafeBufferPointer { bp in
                    var plan = sb_winograd_plan(window: w, out_channels: Int32(m), relu: 1, weights: nil, bias: bp.baseAddress)
                    var single = [Float](repeating: .nan, count: m * n)
                    sb_winograd_conv2d_sgemm(&plan, packedU.pointer, kernel, input, residual, &single, &scratch, nil)
                    var threaded = [Float](repeating: .nan, count: m * n)
                    sb_winograd_conv2d_sgemm(&plan, packedU.pointer, kernel, input, residual, &threaded, &scratch, pool)
                    #expect(Self.differences(threaded, single) == 0, "winograd \(kernel), run with \(setup)")
                }
            }
        }
    }
}
