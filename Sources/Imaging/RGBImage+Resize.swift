/// Resampling.
extension RGBImage {
    /// The image resampled to `width x height` with an antialiased bilinear (triangle) filter.
    ///
    /// Bit-exact with Pillow's `resize(..., Image.BILINEAR)` (and so torchvision's
    /// `Resize(antialias=True)` on PIL images): half-pixel centres, filter support scaled by the
    /// downscale factor, separable in two passes — horizontal, then vertical — each done in
    /// integer fixed point (weights with 22 fractional bits, see `ResampleKernel`) and rounded
    /// and clamped to `UInt8` after the pass. A pass whose size does not change is skipped
    /// (it would be the identity). `tools/preprocess_ref.py` re-implements this in numpy.
    /// - Parameters:
    ///   - width: output width in pixels, at least 1.
    ///   - height: output height in pixels, at least 1.
    public func resized(width outWidth: Int, height outHeight: Int) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "resize target must be positive, got \(outWidth)x\(outHeight)")
        if outWidth == width && outHeight == height {
            return self
        }
        let vertical = outHeight != height ? ResampleKernel(inputSize: height, outputSize: outHeight) : nil
        // Only the rows the vertical pass reads need a horizontal pass.
        let firstRow = vertical?.starts[0] ?? 0
        let lastRow = vertical.map { $0.starts[outHeight - 1] + $0.counts[outHeight - 1] } ?? height
        var image = self
        var rowOffset = 0
        if outWidth != width {
            image = horizontalPass(rows: firstRow..<lastRow,
                                   kernel: ResampleKernel(inputSize: width, outputSize: outWidth))
            rowOffset = firstRow
        }
        if let vertical {
            image = image.verticalPass(kernel: vertical, rowOffset: rowOffset)
        }
        return image
    }

    /// Resamples each row in `rows` horizontally; the result has `rows.count` rows.
    private func horizontalPass(rows: Range<Int>, kernel: ResampleKernel) -> RGBImage {
        let outWidth = kernel.starts.count
        var out = [UInt8](repeating: 0, count: outWidth * rows.count * 3)
        let half = 1 << (ResampleKernel.precisionBits - 1)
        let taps = kernel.taps
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                kernel.weights.withUnsafeBufferPointer { weights in
                    for (outRow, y) in rows.enumerated() {
                        let srcRow = y * width * 3
                        var d = outRow * outWidth * 3
                        for x in 0..<outWidth {
                            var r = half, g = half, b = half
                            var s = srcRow + kernel.starts[x] * 3
                            let w = x * taps
                            for j in 0..<kernel.counts[x] {
                                let k = Int(weights[w + j])
                                r += Int(src[s]) * k
                                g += Int(src[s + 1]) * k
                                b += Int(src[s + 2]) * k
                                s += 3
                            }
                            dst[d] = ResampleKernel.clampToByte(r)
                            dst[d + 1] = ResampleKernel.clampToByte(g)
                            dst[d + 2] = ResampleKernel.clampToByte(b)
                            d += 3
                        }
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: rows.count, pixels: out)
    }

    /// Resamples columns vertically; kernel row indices are shifted down by `rowOffset`.
    private func verticalPass(kernel: ResampleKernel, rowOffset: Int) -> RGBImage {
        let outHeight = kernel.starts.count
        let rowBytes = width * 3
        var out = [UInt8](repeating: 0, count: rowBytes * outHeight)
        let half = 1 << (ResampleKernel.precisionBits - 1)
        let taps = kernel.taps
        var sums = [Int](repeating: 0, count: rowBytes)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                kernel.weights.withUnsafeBufferPointer { weights in
                    sums.withUnsafeMutableBufferPointer { acc in
                        for y in 0..<outHeight {
                            for i in 0..<rowBytes { acc[i] = half }
                            let first = kernel.starts[y] - rowOffset
                            for j in 0..<kernel.counts[y] {
                                let k = Int(weights[y * taps + j])
                                let s = (first + j) * rowBytes
                                for i in 0..<rowBytes { acc[i] += Int(src[s + i]) * k }
                            }
                            let d = y * rowBytes
                            for i in 0..<rowBytes { dst[d + i] = ResampleKernel.clampToByte(acc[i]) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: outHeight, pixels: out)
    }
}
