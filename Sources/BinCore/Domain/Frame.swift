/// A captured camera frame as packed 8-bit RGB, row-major, `width * height * 3` bytes.
public struct Frame: Sendable {
    public var width: Int
    public var height: Int
    public var rgb: [UInt8]
    /// Where the frame came from (device path, image file), for logs and errors.
    public var origin: String

    public init(width: Int, height: Int, rgb: [UInt8], origin: String) {
        precondition(rgb.count == width * height * 3, "RGB buffer does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.rgb = rgb
        self.origin = origin
    }
}
