import CKernels
import Foundation

/// How the uint8 range of an activation is chosen from its calibration statistics.
public enum RangeMethod: Sendable, Hashable, CustomStringConvertible {
    /// [min, max] observed over all calibration images.
    case minMax
    /// Clips the tails: the range holding this fraction of the observed values (e.g. 0.9999).
    case percentile(Double)
    /// The range (the observed one scaled by a factor in (0, 1]) minimising the expected squared
    /// error of quantising the observed distribution: clipping error plus rounding error step²/12.
    case mse
    /// The range (the observed one scaled by a factor in [0.3, 1]) whose actual uint8
    /// quantisation of the observed histogram has the least squared error (highest SQNR):
    /// rounding measured per bin with the candidate's own step and zero point.
    case sqnr

    public var description: String {
        switch self {
        case .minMax: return "minmax"
        case .percentile(let p): return "percentile-\(String(format: "%g", p * 100))"
        case .mse: return "mse"
        case .sqnr: return "sqnr"
        }
    }
}

/// Per-activation statistics of the fp32 network over calibration images: min, max and a
/// histogram over [min, max], collected through `Network.forward(_:observe:)` in two passes.
public struct CalibrationStatistics: Sendable {
    public static let bins = 2048
    public var images: Int
    public var minimum: [Float]
    public var maximum: [Float]
    /// `bins` counts per activation, over [minimum, maximum].
    public var histograms: [[UInt64]]

    /// Runs `network` over `count` inputs (`input(i)` gives the i-th preprocessed tensor) twice:
    /// min/max first, then histograms over those ranges.
    public static func collect(network: Network, count: Int, input: (Int) throws -> [Float]) throws -> CalibrationStatistics {
        let activations = network.plan.shapes.count
        var lo = [Float](repeating: .infinity, count: activations)
        var hi = [Float](repeating: -.infinity, count: activations)
        var tensors: [[Float]] = []
        for i in 0..<count {
            let x = try input(i)
            tensors.append(x)
            try network.forward(x) { id, values in sb_minmax(values.baseAddress, values.count, &lo[id], &hi[id]) }
        }
        var histograms = [[UInt64]](repeating: [UInt64](repeating: 0, count: bins), count: activations)
        for x in tensors {
            try network.forward(x) { id, values in
                histograms[id].withUnsafeMutableBufferPointer {
                    sb_histogram(values.baseAddress, values.count, lo[id], hi[id], Int32(bins), $0.baseAddress)
                }
            }
        }
        return CalibrationStatistics(images: count, minimum: lo, maximum: hi, histograms: histograms)
    }

    /// The range of activation `id` by `method`.
    public func range(_ id: Int, _ method: RangeMethod) -> (low: Float, high: Float) {
        let lo = minimum[id], hi = maximum[id]
        guard lo.isFinite, hi.isFinite, hi > lo else { return (min(lo, 0), max(hi, 0)) }
        switch method {
        case .minMax:
            return (lo, hi)
        case .percentile(let p):
            let counts = histograms[id]
            let total = Double(counts.reduce(0, +))
            let width = (hi - lo) / Float(Self.bins)
            // Upper bound: the upper edge of the bin where the cumulative count reaches p.
            var high = hi, low = lo
            var cumulative = 0.0
            for (b, c) in counts.enumerated() {
                cumulative += Double(c)
                if cumulative >= p * total { high = lo + width * Float(b + 1); break }
            }
            if lo < 0 {
                cumulative = 0
                for (b, c) in counts.enumerated().reversed() {
                    cumulative += Double(c)
                    if cumulative >= p * total { low = lo + width * Float(b); break }
                }
            }
            return (min(low, 0), max(high, 0))
        case .mse:
            return mseRange(id)
        case .sqnr:
            return measuredRange(id)
        }
    }

    /// The range whose uint8 quantisation has the least squared error over the observed values,
    /// computed bin by bin: each histogram bin's centre is quantised and dequantised with the
    /// candidate's own scale and zero point (so values quantised exactly, e.g. ReLU's zeros, cost
    /// nothing, and the rounding error is the real one rather than step²/12). Candidates: the
    /// observed range scaled by 0.30...1.00 in steps of 0.005 (low and high together).
    private func measuredRange(_ id: Int) -> (low: Float, high: Float) {
        let counts = histograms[id]
        let lo = Double(minimum[id]), hi = Double(maximum[id])
        let width = (hi - lo) / Double(Self.bins)
        // A bin holding exactly 0 (ReLU outputs) is taken at 0, not at its centre.
        let centres: [Double] = counts.indices.map { b in
            let left = lo + width * Double(b)
            return left <= 0 && 0 < left + width && (lo == 0 || hi == 0) ? 0 : left + width * 0.5
        }
        var best = (error: Double.infinity, low: Float(lo), high: Float(hi))
        for step in 0...140 {
            let f = 1.0 - Double(step) * 0.005
            let q = TensorQuantization(low: Float(min(lo, 0) * f), high: Float(max(hi, 0) * f))
            let scale = Double(q.scale), zp = Double(q.zeroPoint)
            var error = 0.0
            for (b, c) in counts.enumerated() where c > 0 {
                let x = centres[b]
                let level = max(0, min(255, (x / scale).rounded(.toNearestOrEven) + zp))
                let d = x - scale * (level - zp)
                error += Double(c) * d * d
            }
            if error < best.error { best = (error, Float(min(lo, 0) * f), Float(max(hi, 0) * f)) }
        }
        return (best.low, best.high)
    }

    private func mseRange(_ id: Int) -> (low: Float, high: Float) {
        let counts = histograms[id]
        let lo = Double(min(minimum[id], 0)), hi = Double(max(maximum[id], 0))
        let width = Double(maximum[id] - minimum[id]) / Double(Self.bins)
        let centres = counts.indices.map { Double(minimum[id]) + width * (Double($0) + 0.5) }
        let total = Double(counts.reduce(0, +))
        var best = (error: Double.infinity, f: 1.0)
        for step in 1...200 {
            let f = Double(step) / 200
            let l = lo * f, h = hi * f
            let delta = (h - l) / 255
            var error = 0.0, inside = 0.0
            for (b, c) in counts.enumerated() where c > 0 {
                let x = centres[b]
                if x > h { error += Double(c) * (x - h) * (x - h) }
                else if x < l { error += Double(c) * (l - x) * (l - x) }
                else { inside += Double(c) }
            }
            error += inside * delta * delta / 12
            if error < best.error { best = (error, f) }
        }
        _ = total
        return (Float(lo * best.f), Float(hi * best.f))
    }
}
