import BinCore
import Imaging

extension FrameAssembler {
    /// MJPEG → RGB through libjpeg-turbo (Imaging's `JPEG.decode`). The size is the JPEG's own:
    /// a camera that sends frames of another size than negotiated still gives a whole image.
    /// Frames without Huffman tables (UVC cameras leave the standard ones out) decode too.
    public static let libjpegMJPEG: Decoder = { bytes, _, _ in
        let image = try JPEG.decode(bytes, source: "camera frame")
        return Frame(width: image.width, height: image.height, rgb: image.pixels, origin: "camera")
    }

    /// Tightly packed YUYV → RGB through Imaging's `PixelConversion.yuyvToRGB` (BT.601 limited range).
    public static let imagingYUYV: Decoder = { bytes, width, height in
        let image = try PixelConversion.yuyvToRGB(bytes, width: width, height: height)
        return Frame(width: image.width, height: image.height, rgb: image.pixels, origin: "camera")
    }
}
