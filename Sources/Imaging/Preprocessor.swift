/// Turns an RGB frame into a model's input tensor: resample, crop, normalise, NCHW planar.
///
/// The geometry (`ResizeMode`) uses `RGBImage.resized` (Pillow-exact bilinear) and
/// `centerCropped` (torchvision rounding); the values follow the `ChannelPreset`. Per-channel
/// lookup tables are built once at `init`, so a frame costs one table lookup per value.
public struct Preprocessor: Sendable {
    /// Channel order and normalisation.
    public let preset: ChannelPreset
    /// Geometry.
    public let resize: ResizeMode
    /// `table[c * 256 + byte]` is the normalised value of `byte` in output channel `c`.
    private let table: [Float]

    /// Creates a preprocessor.
    /// - Parameters:
    ///   - preset: the model's channel convention.
    ///   - resize: how frames reach the model's input size; sizes must be positive.
    public init(preset: ChannelPreset, resize: ResizeMode = .standard) {
        precondition(resize.isValid, "resize sizes must be positive: \(resize)")
        self.preset = preset
        self.resize = resize
        var table = [Float](repeating: 0, count: 3 * 256)
        for channel in 0..<3 {
            for byte in 0..<256 {
                table[channel * 256 + byte] = preset.normalised(UInt8(byte), channel: channel)
            }
        }
        self.table = table
    }

    /// The normalised value of every byte, per output channel: `levels[c][byte]` (what an
    /// engine needs to run its first layer on the image's bytes).
    public var levels: [[Float]] { (0..<3).map { Array(table[$0 * 256..<($0 + 1) * 256]) } }

    /// Width of the tensor (W in NCHW).
    public var outputWidth: Int { resize.outputSize.width }
    /// Height of the tensor (H in NCHW).
    public var outputHeight: Int { resize.outputSize.height }
    /// Floats in one tensor: `3 * outputHeight * outputWidth`.
    public var elementCount: Int { 3 * outputWidth * outputHeight }

    /// The frame resampled and cropped to `outputWidth x outputHeight`, before normalisation.
    public func geometry(_ image: RGBImage) -> RGBImage {
        let size = resize.resampledSize(width: image.width, height: image.height)
        let resampled = image.resized(width: size.width, height: size.height)
        return resampled.centerCropped(width: outputWidth, height: outputHeight)
    }

    /// The tensor for `image`: `3 x outputHeight x outputWidth` floats, planar (NCHW, N = 1),
    /// channels in the preset's order.
    public func tensor(from image: RGBImage) -> [Float] {
        [Float](unsafeUninitializedCapacity: elementCount) { buffer, initialized in
            write(image, into: buffer)
            initialized = elementCount
        }
    }

    /// Writes the tensor for `image` into `buffer`, which must hold exactly `elementCount`
    /// floats (e.g. the model's input slot in its workspace).
    public func write(_ image: RGBImage, into buffer: UnsafeMutableBufferPointer<Float>) {
        precondition(buffer.count == elementCount,
                     "tensor buffer holds \(buffer.count) floats, need \(elementCount)")
        let shaped = geometry(image)
        let plane = outputWidth * outputHeight
        let sources = preset.sourceChannels
        shaped.pixels.withUnsafeBufferPointer { pixels in
            table.withUnsafeBufferPointer { table in
                for channel in 0..<3 {
                    let base = channel * plane
                    let lookup = channel * 256
                    var s = sources[channel]
                    for i in 0..<plane {
                        buffer[base + i] = table[lookup + Int(pixels[s])]
                        s += 3
                    }
                }
            }
        }
    }
}
