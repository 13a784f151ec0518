/// A capture format as asked for or as the driver chose it (`VIDIOC_S_FMT` may change any field).
public struct V4L2Format: Sendable, Hashable, CustomStringConvertible {
    /// The FourCC the driver reported (kept raw so a surprise format can be named).
    public var fourcc: UInt32
    public var width: Int
    public var height: Int
    /// Bytes per row including padding (YUYV: ≥ `width * 2`; 0 for compressed formats).
    public var bytesPerLine: Int
    /// Largest buffer the driver will fill, in bytes.
    public var sizeImage: Int

    public init(fourcc: UInt32, width: Int, height: Int, bytesPerLine: Int = 0, sizeImage: Int = 0) {
        self.fourcc = fourcc
        self.width = width
        self.height = height
        self.bytesPerLine = bytesPerLine
        self.sizeImage = sizeImage
    }

    public init(_ pixelFormat: V4L2PixelFormat, width: Int, height: Int) {
        self.init(fourcc: pixelFormat.fourcc, width: width, height: height)
    }

    public var pixelFormat: V4L2PixelFormat? { V4L2PixelFormat(fourcc: fourcc) }

    public var description: String { "\(V4L2PixelFormat.text(fourcc)) \(width)x\(height)" }

    /// Judges the driver's answer to `VIDIOC_S_FMT` (pure).
    ///
    /// A different pixel format is an error (the decoder would be wrong); a different size is
    /// accepted — the preprocessor resizes anyway — and returned as a note to log.
    /// - Throws: `HardwareError.unsupported` naming the device, both formats and the fix.
    public static func accept(requested: V4L2Format, chosen: V4L2Format, device: String) throws(HardwareError) -> String? {
        guard chosen.pixelFormat == requested.pixelFormat else {
            throw HardwareError(.unsupported, "\(device): VIDIOC_S_FMT asked for \(requested), driver chose \(chosen); set camera.pixel_format to one the camera offers (v4l2-ctl -d \(device) --list-formats-ext)")
        }
        guard chosen.width > 0, chosen.height > 0 else {
            throw HardwareError(.unsupported, "\(device): VIDIOC_S_FMT returned an empty size \(chosen)")
        }
        if chosen.width != requested.width || chosen.height != requested.height {
            return "\(device): asked for \(requested), driver chose \(chosen)"
        }
        return nil
    }
}
