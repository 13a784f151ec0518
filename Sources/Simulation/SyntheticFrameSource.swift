import BinCore
import Synchronization

/// Generated frames for when there are no images: a gradient that shifts with each frame, with the
/// origin `synthetic:<n> (generated test pattern, not a camera image)` so logs and events never pass
/// it off as a photo.
public final class SyntheticFrameSource: FrameSource {
    public let width: Int
    public let height: Int
    private let counter = Mutex(0)

    public init(width: Int = 224, height: Int = 224) {
        precondition(width > 0 && height > 0, "frame size must be positive")
        self.width = width
        self.height = height
    }

    public func capture() async throws -> Frame {
        let n = counter.withLock { value -> Int in
            value += 1
            return value
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                rgb[i] = UInt8((x * 255 / max(width - 1, 1) + n * 16) & 0xFF)
                rgb[i + 1] = UInt8(y * 255 / max(height - 1, 1))
                rgb[i + 2] = UInt8((n * 37) & 0xFF)
            }
        }
        return Frame(width: width, height: height, rgb: rgb,
                     origin: "synthetic:\(n) (generated test pattern, not a camera image)")
    }
}
