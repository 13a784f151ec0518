import BinCore
import Dispatch
import Foundation
import Imaging

/// The `Classifier` seam backed by the ResNet engine. Forward passes run on one dedicated
/// serial queue, never on Swift's cooperative pool. The model comes from a `ModelSlot`, so a
/// model update switches it between two frames.
public final class EngineClassifier: Classifier, @unchecked Sendable {
    // @unchecked: `lastUsed` is only touched under `lock`.
    public let slot: ModelSlot
    private let lock = NSLock()
    private var lastUsed: ModelInfo?
    private let queue = DispatchQueue(label: "smartbin.inference", qos: .userInitiated)
    private let top: Int

    public init(slot: ModelSlot, top: Int = 5) {
        self.slot = slot
        self.top = top
    }

    public convenience init(loaded: LoadedModel, top: Int = 5) {
        self.init(slot: ModelSlot(loaded), top: top)
    }

    /// The model in use now.
    public var loaded: LoadedModel { slot.current }
    /// The model of the latest classification (the slot's model before the first one).
    ///
    /// The controller reads this when it writes the event of a cycle, after the flap moved; a
    /// model swapped in meanwhile must not be credited with a classification it did not make.
    /// So `…/state` shows a new model from its first classification on.
    public var model: ModelInfo { lock.withLock { lastUsed } ?? slot.current.info }

    /// Classifies one frame; blocks the inference thread for one forward pass.
    public func classify(_ frame: Frame) async throws -> ClassifierOutput {
        let (loaded, top) = (slot.current, self.top)
        defer { lock.withLock { lastUsed = loaded.info } }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do {
                    let image = RGBImage(width: frame.width, height: frame.height, pixels: frame.rgb)
                    let result = try loaded.run(image: image)
                    continuation.resume(returning: ClassifierOutput(
                        classification: loaded.classification(result.output, top: top),
                        preprocessMilliseconds: result.preprocessMilliseconds,
                        inferenceMilliseconds: result.inferenceMilliseconds))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
