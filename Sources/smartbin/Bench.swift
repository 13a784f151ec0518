import ArgumentParser
import Foundation
import Imaging
import Inference
import SmartBinApp

/// `smartbin bench`: forward-pass latency of a model, as medians (never a pass/fail).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure forward-pass latency (median, p90), throughput and peak memory.")

    @Option(help: "Model file (.onnx or compiled .sbm).")
    var model: String

    @Option(help: "Engine: int8 or fp32 (default: int8 when a compiled model has int8 weights, else fp32).")
    var precision: Precision?

    @Option(help: "Threads for the forward pass.")
    var threads: Int = 1

    @Option(help: "Timed forward passes.")
    var iterations: Int = 20

    @Option(help: "Untimed forward passes first.")
    var warmup: Int = 3

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Also time every layer (median over the iterations): ms, GFLOP/s, % of this CPU's measured peak, share of the pass.")
    var layers = false

    func validate() throws {
        if threads < 1 || iterations < 1 || warmup < 0 { throw ValidationError("--threads and --iterations must be at least 1, --warmup at least 0") }
    }

    func run() throws {
        let loaded: LoadedModel
        do { loaded = try LoadedModel(path: model, threads: threads, precision: precision?.rawValue) } catch { throw fail("\(error)") }
        // A fixed pseudo-random frame, preprocessed as the bin does (an int8 engine's first layer
        // runs on the image's bytes only when the input is such an image).
        var state: UInt64 = 0x9E3779B97F4A7C15
        let side = 256
        let pixels = (0..<side * side * 3).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let input = loaded.preprocessor.tensor(from: RGBImage(width: side, height: side, pixels: pixels))
        var times: [Double] = []
        do {
            for _ in 0..<warmup { _ = try loaded.run(tensor: input) }
            for _ in 0..<iterations {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try loaded.run(tensor: input)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
        } catch { throw fail("\(error)") }
        var layerRows: [[String: Any]] = []
        if layers {
            var perLayer: [[Double]] = []
            var descriptions: [(String, Double)] = []
            do {
                for _ in 0..<iterations {
                    let timings = try loaded.profile(tensor: input)
                    if perLayer.isEmpty { perLayer = Array(repeating: [], count: timings.count); descriptions = timings.map { ($0.description, $0.flops) } }
                    for t in timings { perLayer[t.index].append(t.milliseconds) }
                }
            } catch { throw fail("\(error)") }
            for (index, samples) in perLayer.enumerated() {
                let ms = samples.sorted()[samples.count / 2]
                layerRows.append(["index": index, "layer": descriptions[index].0, "median_ms": ms,
                                  "gflops_per_s": descriptions[index].1 / 1e9 / max(ms / 1000, 1e-9)])
            }
        }
        // This core's measured multiply-add peak (after the timed passes, so it does not disturb
        // them), times the threads: what "% of peak" divides by. int8 passes are set against the
        // int8 dot-product peak where the CPU has one.
        let machinePeak = MachinePeak.measure(int8: loaded.precision == "int8", seconds: 0.2)
        let perCorePeak = machinePeak.perCoreGigaOps
        let peakISA = machinePeak.isa
        let peak = perCorePeak * Double(threads)
        for index in layerRows.indices {
            layerRows[index]["percent_of_peak"] = 100 * (layerRows[index]["gflops_per_s"] as? Double ?? 0) / peak
        }
        let sorted = times.sorted()
        func percentile(_ p: Double) -> Double {
            let position = p * Double(sorted.count - 1)
            let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
            return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
        }
        let median = percentile(0.5)
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        var result: [String: Any] = [
            "model": model,
            "precision": loaded.precision,
            "threads": threads,
            "iterations": iterations,
            "median_ms": median,
            "p90_ms": percentile(0.9),
            "min_ms": sorted[0],
            "mean_ms": times.reduce(0, +) / Double(times.count),
            "gflop": loaded.flops / 1e9,
            "gflops_per_s": loaded.flops / 1e9 / (median / 1000),
            "peak_rss_mb": Double(usage.ru_maxrss) / 1024,
            "peak_gops_per_core": perCorePeak,
            "peak_isa": peakISA,
            "percent_of_peak": 100 * loaded.flops / 1e9 / (median / 1000) / peak,
            "blas_core": BLASRuntime.coreName,
            "blas_core_detected": BLASRuntime.detectedBeforeCorrection ?? BLASRuntime.coreName,
            "layers": loaded.layerDescriptions.count,
        ]
        if layers { result["layer_timings"] = layerRows }
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("engine: \(loaded.precision)")
            print(String(format: "%@: median %.2f ms, p90 %.2f ms, min %.2f ms over %d runs, %d thread(s)",
                         model, median, percentile(0.9), sorted[0], iterations, threads))
            print(String(format: "%.2f GFLOP per pass, %.1f GFLOP/s at the median; peak RSS %.1f MB",
                         loaded.flops / 1e9, loaded.flops / 1e9 / (median / 1000), Double(usage.ru_maxrss) / 1024))
            print(String(format: "%.1f%% of this CPU's peak: %.1f G ops/s per core measured (%@ multiply-adds) x %d thread(s)",
                         100 * loaded.flops / 1e9 / (median / 1000) / peak, perCorePeak, peakISA, threads))
            print("OpenBLAS kernels: \(BLASRuntime.coreName)" + (BLASRuntime.detectedBeforeCorrection.map { " (it had chosen \($0))" } ?? ""))
            let total = layerRows.reduce(0.0) { $0 + ($1["median_ms"] as? Double ?? 0) }
            for row in layerRows {
                let ms = row["median_ms"] as? Double ?? 0
                print(String(format: "%3d  %7.3f ms  %6.1f GFLOP/s  %5.1f%% of peak  %5.1f%% of pass  %@", row["index"] as? Int ?? 0, ms,
                             row["gflops_per_s"] as? Double ?? 0, row["percent_of_peak"] as? Double ?? 0,
                             100 * ms / max(total, 1e-9), row["layer"] as? String ?? ""))
            }
        }
    }
}
