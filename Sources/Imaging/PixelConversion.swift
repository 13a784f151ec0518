/// Camera pixel formats to RGB: YUYV (YUV 4:2:2 packed) and NV12 (YUV 4:2:0, Y plane then
/// interleaved UV plane).
///
/// Both use BT.601 limited range ("studio swing": Y in 16...235, U/V in 16...240), which is
/// what UVC webcams and the Pi camera stack deliver, in integer arithmetic with 16 fractional
/// bits:
///
///     C = Y - 16, D = U - 128, E = V - 128
///     R = (76309 C            + 104597 E + 32768) >> 16
///     G = (76309 C -  25675 D -  53279 E + 32768) >> 16
///     B = (76309 C + 132201 D            + 32768) >> 16
///
/// each clamped to 0...255. The constants are 65536 x (255/219, 1.596027, 0.391762, 0.812968,
/// 2.017232), the exact BT.601 factors (Kr = 0.299, Kb = 0.114) rounded, so results are within
/// 1 of the real-valued conversion rounded to nearest. Chroma is not interpolated: each
/// U/V sample applies to the 2 (YUYV) or 2x2 (NV12) pixels it covers.
public enum PixelConversion {
    /// Converts a YUYV frame (`Y0 U Y1 V` for each horizontal pair of pixels) to RGB.
    /// - Parameters:
    ///   - bytes: the frame; exactly `bytesPerLine * height` bytes.
    ///   - width: pixels per row; must be even.
    ///   - height: rows.
    ///   - bytesPerLine: row stride in bytes (V4L2 `bytesperline`); nil means `width * 2`.
    /// - Throws: `ImagingError` with code `.invalidArgument` when the sizes do not fit the bytes.
    public static func yuyvToRGB(_ bytes: [UInt8], width: Int, height: Int,
                                 bytesPerLine: Int? = nil) throws(ImagingError) -> RGBImage {
        let source = "YUYV frame \(width)x\(height)"
        guard width > 0, height > 0, width % 2 == 0 else {
            throw ImagingError(.invalidArgument, source: source, message: "width must be even and sizes positive")
        }
        let pitch = bytesPerLine ?? width * 2
        guard pitch >= width * 2 else {
            throw ImagingError(.invalidArgument, source: source, message: "bytesPerLine \(pitch) is less than width * 2 = \(width * 2)")
        }
        guard bytes.count == pitch * height else {
            throw ImagingError(.invalidArgument, source: source,
                               message: "expected \(pitch * height) bytes (\(pitch) per line), got \(bytes.count)")
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    var s = y * pitch
                    var d = y * width * 3
                    for _ in 0..<(width / 2) {
                        let u = Int32(src[s + 1]) - 128, v = Int32(src[s + 3]) - 128
                        store(y: src[s], u: u, v: v, into: dst, at: d)
                        store(y: src[s + 2], u: u, v: v, into: dst, at: d + 3)
                        s += 4
                        d += 6
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Converts an NV12 frame (full-resolution Y plane, then a half-resolution plane of
    /// interleaved `U V` pairs) to RGB.
    /// - Parameters:
    ///   - bytes: the frame; exactly `bytesPerLine * height * 3 / 2` bytes.
    ///   - width: pixels per row; must be even.
    ///   - height: rows; must be even.
    ///   - bytesPerLine: stride of both planes in bytes; nil means `width`.
    /// - Throws: `ImagingError` with code `.invalidArgument` when the sizes do not fit the bytes.
    public static func nv12ToRGB(_ bytes: [UInt8], width: Int, height: Int,
                                 bytesPerLine: Int? = nil) throws(ImagingError) -> RGBImage {
        let source = "NV12 frame \(width)x\(height)"
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw ImagingError(.invalidArgument, source: source, message: "width and height must be even and positive")
        }
        let pitch = bytesPerLine ?? width
        guard pitch >= width else {
            throw ImagingError(.invalidArgument, source: source, message: "bytesPerLine \(pitch) is less than width \(width)")
        }
        guard bytes.count == pitch * height * 3 / 2 else {
            throw ImagingError(.invalidArgument, source: source,
                               message: "expected \(pitch * height * 3 / 2) bytes (\(pitch) per line), got \(bytes.count)")
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let chromaPlane = pitch * height
        bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let luma = y * pitch
                    let chroma = chromaPlane + (y / 2) * pitch
                    var d = y * width * 3
                    for x in stride(from: 0, to: width, by: 2) {
                        let u = Int32(src[chroma + x]) - 128, v = Int32(src[chroma + x + 1]) - 128
                        store(y: src[luma + x], u: u, v: v, into: dst, at: d)
                        store(y: src[luma + x + 1], u: u, v: v, into: dst, at: d + 3)
                        d += 6
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Converts one pixel (see the type's documentation for the arithmetic).
    @inline(__always)
    static func store(y: UInt8, u: Int32, v: Int32, into dst: UnsafeMutableBufferPointer<UInt8>, at d: Int) {
        let c = 76309 * (Int32(y) - 16) + 32768
        dst[d] = clamp((c + 104597 * v) >> 16)
        dst[d + 1] = clamp((c - 25675 * u - 53279 * v) >> 16)
        dst[d + 2] = clamp((c + 132201 * u) >> 16)
    }

    @inline(__always)
    private static func clamp(_ value: Int32) -> UInt8 {
        UInt8(clamping: value)
    }
}
