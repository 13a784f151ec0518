/// How a frame is brought to the model's input size.
public enum ResizeMode: Sendable, Equatable {
    /// torchvision `Resize(shorter)` then `CenterCrop(crop)`: the shorter side becomes `shorter`,
    /// the longer `Int(shorter * long / short)` (truncated, as torchvision does), then the centre
    /// `crop x crop` square is kept.
    case shorterSideThenCenterCrop(shorter: Int, crop: Int)
    /// Straight to `width x height`, ignoring aspect ratio (Keras `load_img(target_size:)`).
    case direct(width: Int, height: Int)

    /// The ImageNet default: shorter side to 256, centre crop 224.
    public static let standard = ResizeMode.shorterSideThenCenterCrop(shorter: 256, crop: 224)

    /// Size of the tensor's spatial dimensions.
    public var outputSize: (width: Int, height: Int) {
        switch self {
        case let .shorterSideThenCenterCrop(_, crop): (crop, crop)
        case let .direct(width, height): (width, height)
        }
    }

    /// Size the image is resampled to before any crop, for an input of `width x height`.
    public func resampledSize(width: Int, height: Int) -> (width: Int, height: Int) {
        switch self {
        case let .shorterSideThenCenterCrop(shorter, _):
            if width <= height {
                return (shorter, Int(Double(shorter * height) / Double(width)))
            }
            return (Int(Double(shorter * width) / Double(height)), shorter)
        case let .direct(width, height):
            return (width, height)
        }
    }

    /// `true` when every size is positive.
    var isValid: Bool {
        switch self {
        case let .shorterSideThenCenterCrop(shorter, crop): shorter > 0 && crop > 0
        case let .direct(width, height): width > 0 && height > 0
        }
    }
}
