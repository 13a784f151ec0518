/// The capture formats the camera adapter negotiates.
public enum V4L2PixelFormat: String, Sendable, Hashable, CaseIterable {
    /// Motion-JPEG: one JPEG per frame, decoded by the injected MJPEG decoder. USB webcams offer
    /// their larger sizes at full frame rate only in this format.
    case mjpeg
    /// Packed YUV 4:2:2 (Y0 U Y1 V), converted by the injected YUYV converter.
    case yuyv

    /// The V4L2 FourCC code (`V4L2_PIX_FMT_MJPEG` = `MJPG`, `V4L2_PIX_FMT_YUYV` = `YUYV`).
    public var fourcc: UInt32 {
        switch self {
        case .mjpeg: Self.fourcc("MJPG")
        case .yuyv: Self.fourcc("YUYV")
        }
    }

    /// The format for a FourCC code; `JPEG` (some UVC cameras) counts as MJPEG.
    public init?(fourcc: UInt32) {
        switch fourcc {
        case Self.fourcc("MJPG"), Self.fourcc("JPEG"): self = .mjpeg
        case Self.fourcc("YUYV"): self = .yuyv
        default: return nil
        }
    }

    /// Packs four ASCII characters little-endian, as `v4l2_fourcc` does.
    public static func fourcc(_ text: String) -> UInt32 {
        let bytes = Array(text.utf8)
        precondition(bytes.count == 4, "a FourCC has four characters")
        return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    /// Four characters of a FourCC code, for messages (`MJPG`, `YUYV`, `RGB3`).
    public static func text(_ fourcc: UInt32) -> String {
        let scalars = (0..<4).map { Unicode.Scalar(UInt8((fourcc >> (8 * $0)) & 0xff)) }
        return String(String.UnicodeScalarView(scalars))
    }
}
