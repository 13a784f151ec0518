/// Per-output-pixel weights of the antialiased triangle (bilinear) filter along one axis, in the
/// fixed-point form Pillow uses for 8-bit images.
///
/// For output index `i` of `outputSize`, with `scale = inputSize / outputSize`:
/// the centre is `(i + 0.5) * scale` (half-pixel centres), the filter is stretched by
/// `max(scale, 1)` (so a downscale averages every input pixel it covers: antialiasing), the taps
/// run from `Int(centre - support + 0.5)` to `Int(centre + support + 0.5)` clamped to the image,
/// weights `triangle((j - centre + 0.5) / max(scale, 1))` are normalised to sum 1 in `Double`,
/// then stored as `Int32` with 22 fractional bits (rounded half away from zero).
/// This is Pillow's `Image.resize(..., BILINEAR)` and hence torchvision's
/// `Resize(antialias=True)` on PIL images.
struct ResampleKernel: Sendable {
    /// Fractional bits of the fixed-point weights (Pillow: 32 - 8 - 2).
    static let precisionBits = 22

    /// First input index used by each output index.
    let starts: [Int]
    /// Number of input taps used by each output index.
    let counts: [Int]
    /// Row `i` of `taps` weights belongs to output index `i`; unused tail weights are zero.
    let weights: [Int32]
    /// Weights per output index (the maximum tap count).
    let taps: Int

    /// Computes the weights for resampling `inputSize` samples to `outputSize`.
    init(inputSize: Int, outputSize: Int) {
        precondition(inputSize > 0 && outputSize > 0, "resample sizes must be positive")
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        let inverseFilterScale = 1.0 / filterScale
        var starts = [Int](repeating: 0, count: outputSize)
        var counts = [Int](repeating: 0, count: outputSize)
        var weights = [Int32](repeating: 0, count: outputSize * taps)
        var row = [Double](repeating: 0, count: taps)
        for i in 0..<outputSize {
            let center = (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inputSize)
            let count = hi - lo
            var total = 0.0
            for j in 0..<count {
                let w = Self.triangle((Double(j + lo) - center + 0.5) * inverseFilterScale)
                row[j] = w
                total += w
            }
            for j in 0..<count {
                let w = total != 0 ? row[j] / total : row[j]
                let fixed = w * Double(1 << Self.precisionBits)
                weights[i * taps + j] = Int32(w < 0 ? -0.5 + fixed : 0.5 + fixed)
            }
            starts[i] = lo
            counts[i] = count
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
        self.taps = taps
    }

    /// The triangle ("tent", bilinear) filter of support 1.
    private static func triangle(_ x: Double) -> Double {
        let a = abs(x)
        return a < 1 ? 1 - a : 0
    }

    /// A fixed-point sum (which includes the rounding half) as a byte, clamped to 0...255.
    @inline(__always)
    static func clampToByte(_ sum: Int) -> UInt8 {
        if sum <= 0 { return 0 }
        if sum >= 255 << precisionBits { return 255 }
        return UInt8(truncatingIfNeeded: sum >> precisionBits)
    }
}
