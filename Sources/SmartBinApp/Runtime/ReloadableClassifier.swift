import BinCore
import Dispatch
import Foundation
import Imaging

/// The `Classifier` the running bin uses: the engine classifier for the current model, which
/// `reload` can replace while the bin runs. A replacement is checked before it is swapped in
/// (loads, same classes in the same order, a finite output on a test frame); on any failure the
/// old model stays and the error says why. A cycle already classifying finishes on the old model.
public final class ReloadableClassifier: Classifier {
    /// The model in use, shared with `cmd/update_model` (`ModelUpdater` swaps models in the same slot).
    public let slot: ModelSlot
    private let engine: EngineClassifier
    private let makeModel: @Sendable (String) throws -> LoadedModel

    /// - Parameter makeModel: loads a model file (the runtime passes its configured labels,
    ///   preset and threads).
    public init(slot: ModelSlot, makeModel: @escaping @Sendable (String) throws -> LoadedModel) {
        self.slot = slot
        engine = EngineClassifier(slot: slot)
        self.makeModel = makeModel
    }

    public convenience init(loaded: LoadedModel, makeModel: @escaping @Sendable (String) throws -> LoadedModel) {
        self.init(slot: ModelSlot(loaded), makeModel: makeModel)
    }

    public var model: ModelInfo { engine.model }

    /// Path of the model now in use.
    public var path: String { slot.current.path }

    public func classify(_ frame: Frame) async throws -> ClassifierOutput {
        try await engine.classify(frame)
    }

    /// Loads `path` (default: the current model's path, e.g. after the file was replaced), checks
    /// it and swaps it in. Blocks a thread of its own for the load, never the cooperative pool.
    /// - Returns: the model now in use.
    /// - Throws: `CommandError` `.failed` naming the file and the problem; the old model stays.
    public func reload(path: String? = nil) async throws(CommandError) -> ModelInfo {
        let target = path ?? self.path
        let old = slot.current
        let makeModel = self.makeModel
        let result: Result<LoadedModel, CommandError> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                do {
                    let candidate = try makeModel(target)
                    try Self.check(candidate, against: old)
                    continuation.resume(returning: .success(candidate))
                } catch let error as CommandError {
                    continuation.resume(returning: .failure(error))
                } catch {
                    continuation.resume(returning: .failure(CommandError(.failed, "\(error)")))
                }
            }
        }
        let candidate = try result.get()
        _ = slot.replace(with: candidate)
        return candidate.info
    }

    /// A replacement must classify into the same classes, and produce finite numbers.
    static func check(_ candidate: LoadedModel, against old: LoadedModel) throws(CommandError) {
        guard candidate.outputCount == old.outputCount else {
            throw CommandError(.failed, "\(candidate.path): \(candidate.outputCount) outputs, the running model has \(old.outputCount); the label map would not fit (restart with the new labels instead)")
        }
        guard candidate.labels.labels == old.labels.labels else {
            throw CommandError(.failed, "\(candidate.path): its labels differ from the running model's; restart to change classes")
        }
        let shape = candidate.inputShape
        let grey = RGBImage(width: shape.width, height: shape.height,
                            pixels: [UInt8](repeating: 128, count: shape.width * shape.height * 3))
        let output: [Float]
        do { output = try candidate.run(image: grey).output } catch {
            throw CommandError(.failed, "\(candidate.path): test inference failed: \(error)")
        }
        guard output.allSatisfy(\.isFinite) else {
            throw CommandError(.failed, "\(candidate.path): test inference produced non-finite outputs (NaN/inf weights?)")
        }
    }
}
