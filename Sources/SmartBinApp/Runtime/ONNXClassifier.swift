import BinCore
import Dispatch
import Imaging

/// The `Classifier` seam backed by the ResNet engine. Forward passes run on one dedicated
/// serial queue, never on Swift's cooperative pool.
public final class EngineClassifier: Classifier {
    public let loaded: LoadedModel
    public let model: ModelInfo
    private let queue = DispatchQueue(label: "smartbin.inference", qos: .userInitiated)
    private let top: Int

    public init(loaded: LoadedModel, top: Int = 5) {
        self.loaded = loaded
        self.model = loaded.info
        self.top = top
    }

    /// Classifies one frame; blocks the inference thread for one forward pass.
    public func classify(_ frame: Frame) async throws -> ClassifierOutput {
        let (loaded, top) = (self.loaded, self.top)
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
