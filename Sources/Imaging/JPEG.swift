import CJPEG

/// JPEG decoding and encoding through libjpeg(-turbo), via the `CJPEG` shim.
///
/// The only file of the module that imports the C shim (EXIF orientation is parsed in Swift, in
/// `JPEG+EXIF.swift`). Calls block the calling thread for the length of the decode or encode
/// (milliseconds for a VGA frame) and need no permission.
public enum JPEG {
    /// Decodes a JPEG held in memory to RGB and turns it upright per its EXIF orientation.
    ///
    /// Grayscale is replicated into R, G and B; CMYK and YCCK (Adobe-inverted when an Adobe
    /// marker is present) are converted with `R = (255 - C)(255 - K) / 255`. Truncated data is
    /// an error even though libjpeg itself would only warn and pad with gray.
    /// - Parameters:
    ///   - bytes: the whole JPEG file.
    ///   - source: a file path or label used in error messages.
    /// - Throws: `ImagingError` with code `.notJPEG` (no SOI marker), `.truncated`,
    ///   `.corruptData`, `.tooLarge` (over 16384 px a side or 64 Mpx), `.unsupportedColorSpace`.
    public static func decode(_ bytes: [UInt8], source: String) throws(ImagingError) -> RGBImage {
        guard bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xD8 else {
            throw ImagingError(.notJPEG, source: source, message: "not a JPEG (\(signature(of: bytes)))")
        }
        var info = sb_jpeg_info()
        var failure = sb_jpeg_error()
        var status = bytes.withUnsafeBufferPointer { sb_jpeg_read_info($0.baseAddress, $0.count, &info, &failure) }
        if status != okStatus {
            throw error(status: status, failure: failure, source: source)
        }
        let width = Int(info.width), height = Int(info.height)
        let count = width * height * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = bytes.withUnsafeBufferPointer { src in
                sb_jpeg_decode_rgb(src.baseAddress, src.count, buffer.baseAddress, count, &info, &failure)
            }
            initialized = status == okStatus ? count : 0
        }
        if status != okStatus {
            throw error(status: status, failure: failure, source: source)
        }
        let image = RGBImage(width: width, height: height, pixels: pixels)
        let orientation = orientation(of: bytes)
        return orientation == 1 ? image : image.oriented(exif: orientation)
    }

    /// Reads and decodes a JPEG file; see `decode(_:source:)`.
    /// - Parameter path: the file to read; it names the source in errors.
    /// - Throws: `ImagingError` with code `.io` when the file cannot be read, else as `decode`.
    public static func decode(contentsOf path: String) throws(ImagingError) -> RGBImage {
        try decode(FileIO.readAll(path), source: path)
    }

    // MARK: - Encoding (tests, fixtures, synthetic camera frames)

    /// How the samples given to `encode(samples:width:height:layout:quality:)` are laid out.
    public enum SampleLayout: Int, Sendable, CaseIterable {
        /// One byte per pixel.
        case grayscale = 1
        /// `R, G, B` per pixel.
        case rgb = 3
        /// `C, M, Y, K` per pixel in Adobe's inverted convention (255 = no ink), as Photoshop
        /// writes them; the file gets an Adobe APP14 marker.
        case adobeCMYK = 4
    }

    /// Encodes an RGB image as a baseline JFIF JPEG (YCbCr, 4:2:0 chroma subsampling).
    /// - Parameters:
    ///   - image: the pixels to encode.
    ///   - quality: libjpeg quality, 1...100.
    /// - Throws: `ImagingError` with code `.invalidArgument` for a quality out of range,
    ///   `.tooLarge` beyond the decoder's limits.
    public static func encode(_ image: RGBImage, quality: Int = 90) throws(ImagingError) -> [UInt8] {
        try encode(samples: image.pixels, width: image.width, height: image.height, layout: .rgb, quality: quality)
    }

    /// Encodes raw grayscale, RGB or Adobe CMYK samples as a baseline JPEG.
    /// - Parameters:
    ///   - samples: `width * height * layout.rawValue` bytes, row-major, interleaved.
    ///   - width: pixels per row.
    ///   - height: rows.
    ///   - layout: what each pixel's bytes mean.
    ///   - quality: libjpeg quality, 1...100.
    /// - Throws: `ImagingError` with code `.invalidArgument` when the sample count does not match
    ///   or the quality is out of range, `.tooLarge` beyond the decoder's limits.
    public static func encode(samples: [UInt8], width: Int, height: Int, layout: SampleLayout,
                              quality: Int = 90) throws(ImagingError) -> [UInt8] {
        let source = "JPEG encoder"
        guard width > 0, height > 0, width <= Int(SB_JPEG_MAX_DIMENSION), height <= Int(SB_JPEG_MAX_DIMENSION) else {
            throw ImagingError(.tooLarge, source: source,
                               message: "image is \(width)x\(height); the limit is \(SB_JPEG_MAX_DIMENSION) px per side")
        }
        guard samples.count == width * height * layout.rawValue else {
            throw ImagingError(.invalidArgument, source: source,
                               message: "\(width)x\(height) \(layout) needs \(width * height * layout.rawValue) bytes, got \(samples.count)")
        }
        guard (1...100).contains(quality) else {
            throw ImagingError(.invalidArgument, source: source, message: "quality must be in 1...100, got \(quality)")
        }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var failure = sb_jpeg_error()
        let status = samples.withUnsafeBufferPointer {
            sb_jpeg_encode($0.baseAddress, UInt32(width), UInt32(height), Int32(layout.rawValue),
                           Int32(quality), &out, &size, &failure)
        }
        defer { sb_jpeg_free(out) }
        guard status == okStatus, let out else {
            throw error(status: status, failure: failure, source: source)
        }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    // MARK: - Shim plumbing

    static let okStatus = Int32(SB_JPEG_OK.rawValue)

    /// Maps a shim status and its message to an `ImagingError`.
    static func error(status: Int32, failure: sb_jpeg_error, source: String) -> ImagingError {
        let text = withUnsafeBytes(of: failure.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let offset = failure.offset > 0 ? Int(failure.offset) : nil
        switch UInt32(bitPattern: status) {
        case SB_JPEG_ERR_TRUNCATED.rawValue:
            return ImagingError(.truncated, source: source,
                                message: "truncated: premature end of JPEG data (libjpeg: \(text))", offset: offset)
        case SB_JPEG_ERR_TOO_LARGE.rawValue:
            return ImagingError(.tooLarge, source: source, message: text)
        case SB_JPEG_ERR_COLOR_SPACE.rawValue:
            return ImagingError(.unsupportedColorSpace, source: source, message: text)
        case SB_JPEG_ERR_ARGUMENT.rawValue:
            return ImagingError(.invalidArgument, source: source, message: text)
        case SB_JPEG_ERR_NO_MEMORY.rawValue:
            return ImagingError(.outOfMemory, source: source, message: text)
        default:
            return ImagingError(.corruptData, source: source, message: "corrupt JPEG data (libjpeg: \(text))", offset: offset)
        }
    }

    /// "starts with 89 50 4E 47" or "file is empty", for not-a-JPEG messages.
    private static func signature(of bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "file is empty" }
        let hex = bytes.prefix(4).map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }
        return "starts with " + hex.joined(separator: " ")
    }
}
