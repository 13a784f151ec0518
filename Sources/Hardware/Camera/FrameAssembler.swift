import BinCore

/// Turns one captured buffer into an RGB `Frame` with the injected decoders (pure: no device).
///
/// MJPEG buffers must start with the JPEG SOI marker (`FF D8`); YUYV buffers are checked against
/// the negotiated size and stripped of row padding (`bytesPerLine > width * 2`) before conversion.
public struct FrameAssembler: Sendable {
    /// Decodes or converts a tightly packed buffer of a `width`×`height` image to RGB.
    public typealias Decoder = @Sendable (_ bytes: [UInt8], _ width: Int, _ height: Int) throws -> Frame

    public var format: V4L2Format
    /// Device path, written into each frame's `origin` and every error.
    public var device: String
    public var decodeMJPEG: Decoder
    public var convertYUYV: Decoder

    public init(format: V4L2Format, device: String, decodeMJPEG: @escaping Decoder, convertYUYV: @escaping Decoder) {
        self.format = format
        self.device = device
        self.decodeMJPEG = decodeMJPEG
        self.convertYUYV = convertYUYV
    }

    /// Assembles one frame from a buffer's used bytes.
    /// - Throws: `HardwareError.badData` naming the device for empty, truncated or undecodable
    ///   buffers; `.unsupported` for a pixel format the adapter does not handle.
    public func assemble(_ bytes: [UInt8]) throws(HardwareError) -> Frame {
        guard !bytes.isEmpty else { throw HardwareError(.badData, "\(device): empty frame buffer (bytesused 0)") }
        var frame: Frame
        switch format.pixelFormat {
        case .mjpeg:
            guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else {
                throw HardwareError(.badData, "\(device): MJPEG buffer of \(bytes.count) bytes has no JPEG start marker")
            }
            frame = try run(decodeMJPEG, "MJPEG decode", bytes)
        case .yuyv:
            frame = try run(convertYUYV, "YUYV conversion", try packedYUYV(bytes))
        case nil:
            throw HardwareError(.unsupported, "\(device): cannot assemble frames in \(V4L2PixelFormat.text(format.fourcc))")
        }
        frame.origin = device
        return frame
    }

    /// The YUYV rows without padding: `width * 2 * height` bytes.
    func packedYUYV(_ bytes: [UInt8]) throws(HardwareError) -> [UInt8] {
        let row = format.width * 2
        let stride = max(format.bytesPerLine, row)
        guard format.width % 2 == 0 else {
            throw HardwareError(.badData, "\(device): YUYV width \(format.width) is odd")
        }
        let needed = stride * (format.height - 1) + row
        guard bytes.count >= needed else {
            throw HardwareError(.badData, "\(device): YUYV buffer truncated: \(bytes.count) bytes, \(format) needs \(needed)")
        }
        if stride == row { return bytes.count == row * format.height ? bytes : Array(bytes[0..<(row * format.height)]) }
        var packed = [UInt8]()
        packed.reserveCapacity(row * format.height)
        for y in 0..<format.height { packed += bytes[(y * stride)..<(y * stride + row)] }
        return packed
    }

    private func run(_ decoder: Decoder, _ what: String, _ bytes: [UInt8]) throws(HardwareError) -> Frame {
        do {
            return try decoder(bytes, format.width, format.height)
        } catch let error as HardwareError {
            throw error
        } catch {
            throw HardwareError(.badData, "\(device): \(what) of a \(format) buffer (\(bytes.count) bytes) failed: \(error)")
        }
    }
}
