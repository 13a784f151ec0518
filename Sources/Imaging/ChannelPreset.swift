/// How a model expects its input channels: order, scale and per-channel mean/std.
///
/// Output channel `c` of the tensor holds `(Float(byte) * scale - mean[c]) / std[c]`, computed
/// in `Float` exactly as written (`tools/preprocess_ref.py` does the same in float32).
public enum ChannelPreset: String, Sendable, CaseIterable {
    /// PyTorch / torchvision: RGB order, `byte / 255`, then `(x - [0.485, 0.456, 0.406]) /
    /// [0.229, 0.224, 0.225]`.
    case torch
    /// Keras ResNet50 `preprocess_input` ("caffe" mode): BGR order, no scaling, minus the
    /// ImageNet means `[103.939, 116.779, 123.68]` (B, G, R), std 1.
    case caffe

    /// For each output channel, the RGB channel (0 = R, 1 = G, 2 = B) it is read from.
    public var sourceChannels: [Int] {
        switch self {
        case .torch: [0, 1, 2]
        case .caffe: [2, 1, 0]
        }
    }

    /// Mean subtracted from each output channel, after scaling, in output channel order.
    public var mean: [Float] {
        switch self {
        case .torch: [0.485, 0.456, 0.406]
        case .caffe: [103.939, 116.779, 123.68]
        }
    }

    /// Divisor of each output channel after the mean is subtracted, in output channel order.
    public var std: [Float] {
        switch self {
        case .torch: [0.229, 0.224, 0.225]
        case .caffe: [1, 1, 1]
        }
    }

    /// `true` when bytes are divided by 255 before the mean is subtracted.
    public var scalesToUnit: Bool { self == .torch }

    /// The normalised value of `byte` in output channel `channel` (0...2).
    public func normalised(_ byte: UInt8, channel: Int) -> Float {
        let x = scalesToUnit ? Float(byte) / 255 : Float(byte)
        let centred = x - mean[channel]
        return self == .torch ? centred / std[channel] : centred
    }
}
