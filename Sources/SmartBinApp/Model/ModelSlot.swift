import BinCore
import Foundation

/// The model the running classifier uses, replaceable while the bin runs (`update_model`,
/// `rollback_model`).
///
/// A lock-protected box rather than an actor: `Classifier.model` is a synchronous requirement
/// the controller reads for every event, and a swap must never wait for a forward pass. A
/// classification that started before a swap finishes on the model it started with.
public final class ModelSlot: @unchecked Sendable {
    // @unchecked: `model` is only read and written under `lock`.
    private let lock = NSLock()
    private var model: LoadedModel

    public init(_ model: LoadedModel) { self.model = model }

    /// The model in use now.
    public var current: LoadedModel { lock.withLock { model } }

    /// Puts `next` in use for every classification that starts from now on.
    /// - Returns: the model it replaced.
    @discardableResult
    public func replace(with next: LoadedModel) -> LoadedModel {
        lock.withLock {
            let previous = model
            model = next
            return previous
        }
    }
}
