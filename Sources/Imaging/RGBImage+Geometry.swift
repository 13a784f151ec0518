/// Cropping, flips and quarter-turn rotations; all exact pixel copies.
extension RGBImage {
    /// The centre `width x height` region, with torchvision's `center_crop` rounding: the top
    /// offset is `round((self.height - height) / 2)` with Python's round-half-to-even (so a
    /// 341-wide image cropped to 224 starts at column 58, not 59), the left offset likewise.
    /// When the crop is larger than the image, the image is first padded with black:
    /// `(crop - size) / 2` before and `(crop - size + 1) / 2` after, as torchvision does.
    /// - Parameters:
    ///   - width: crop width in pixels, at least 1.
    ///   - height: crop height in pixels, at least 1.
    public func centerCropped(width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        precondition(cropWidth > 0 && cropHeight > 0, "crop size must be positive, got \(cropWidth)x\(cropHeight)")
        let (padLeft, paddedWidth) = Self.padding(size: width, crop: cropWidth)
        let (padTop, paddedHeight) = Self.padding(size: height, crop: cropHeight)
        let left = Self.halfRoundedToEven(paddedWidth - cropWidth) - padLeft
        let top = Self.halfRoundedToEven(paddedHeight - cropHeight) - padTop
        if left == 0, top == 0, cropWidth == width, cropHeight == height {
            return self
        }
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        let xStart = max(0, -left), xEnd = min(cropWidth, width - left)
        guard xStart < xEnd else { return RGBImage(width: cropWidth, height: cropHeight, pixels: out) }
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<cropHeight {
                    let sy = y + top
                    guard sy >= 0, sy < height else { continue }
                    let s = (sy * width + xStart + left) * 3
                    let d = (y * cropWidth + xStart) * 3
                    let n = (xEnd - xStart) * 3
                    dst.baseAddress!.advanced(by: d).update(from: src.baseAddress!.advanced(by: s), count: n)
                }
            }
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: out)
    }

    /// The image as it should be displayed for an EXIF orientation value (tag 0x0112).
    ///
    /// 1 upright, 2 mirrored left-right, 3 turned 180°, 4 mirrored top-bottom, 5 transposed
    /// (mirrored about the main diagonal), 6 turned 90° clockwise, 7 transversed (mirrored about
    /// the anti-diagonal), 8 turned 90° anticlockwise. Other values leave the image as it is.
    public func oriented(exif orientation: Int) -> RGBImage {
        let w = width, h = height
        // Display pixel (x, y) comes from stored pixel (x0 + x*xx + y*xy, y0 + x*yx + y*yy).
        switch orientation {
        case 2: return remapped(width: w, height: h, x0: w - 1, xx: -1, xy: 0, y0: 0, yx: 0, yy: 1)
        case 3: return remapped(width: w, height: h, x0: w - 1, xx: -1, xy: 0, y0: h - 1, yx: 0, yy: -1)
        case 4: return remapped(width: w, height: h, x0: 0, xx: 1, xy: 0, y0: h - 1, yx: 0, yy: -1)
        case 5: return remapped(width: h, height: w, x0: 0, xx: 0, xy: 1, y0: 0, yx: 1, yy: 0)
        case 6: return remapped(width: h, height: w, x0: 0, xx: 0, xy: 1, y0: h - 1, yx: -1, yy: 0)
        case 7: return remapped(width: h, height: w, x0: w - 1, xx: 0, xy: -1, y0: h - 1, yx: -1, yy: 0)
        case 8: return remapped(width: h, height: w, x0: w - 1, xx: 0, xy: -1, y0: 0, yx: 1, yy: 0)
        default: return self
        }
    }

    /// The image mirrored left to right.
    public func flippedHorizontally() -> RGBImage { oriented(exif: 2) }

    /// The image mirrored top to bottom.
    public func flippedVertically() -> RGBImage { oriented(exif: 4) }

    /// The image mirrored about its main diagonal (rows become columns).
    public func transposed() -> RGBImage { oriented(exif: 5) }

    /// The image turned clockwise by `quarterTurns * 90°` (negative turns go anticlockwise).
    public func rotated(quarterTurnsClockwise quarterTurns: Int) -> RGBImage {
        switch ((quarterTurns % 4) + 4) % 4 {
        case 1: return oriented(exif: 6)
        case 2: return oriented(exif: 3)
        case 3: return oriented(exif: 8)
        default: return self
        }
    }

    /// Copies pixels along an integer affine map from output to source coordinates.
    private func remapped(width outWidth: Int, height outHeight: Int,
                          x0: Int, xx: Int, xy: Int, y0: Int, yx: Int, yy: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        let srcWidth = width
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var d = 0
                for y in 0..<outHeight {
                    var sx = x0 + y * xy
                    var sy = y0 + y * yy
                    for _ in 0..<outWidth {
                        let s = (sy * srcWidth + sx) * 3
                        dst[d] = src[s]
                        dst[d + 1] = src[s + 1]
                        dst[d + 2] = src[s + 2]
                        d += 3
                        sx += xx
                        sy += yx
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }

    /// Padding before the image and the padded size, for a centre crop of `crop` from `size`.
    private static func padding(size: Int, crop: Int) -> (before: Int, padded: Int) {
        guard crop > size else { return (0, size) }
        let before = (crop - size) / 2
        let after = (crop - size + 1) / 2
        return (before, size + before + after)
    }

    /// Python's `int(round(n / 2.0))` for n >= 0: halves go to the even neighbour.
    private static func halfRoundedToEven(_ n: Int) -> Int {
        Int((Double(n) / 2).rounded(.toNearestOrEven))
    }
}
