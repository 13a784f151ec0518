/// A camera (V4L2), an image folder, a synthetic generator, or the test fake.
public protocol FrameSource: Sendable {
    /// Captures one frame as packed RGB. May block for up to a frame interval; the controller
    /// bounds it with `BinConfig.Timeouts.capture`.
    /// - Throws: when the device or file could not deliver a frame.
    func capture() async throws -> Frame
}
