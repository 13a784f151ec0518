import BinCore
import Foundation

/// Simulated items for `simulate --items N`: one lid-open trigger at a time, each after the
/// previous item's event was recorded (or after `patience`, if that cycle failed), spaced by a
/// seeded exponential gap of mean `1 / rate` seconds. Finishes after `items` triggers, so the bin
/// routes exactly that many items (a trigger during a cycle would be merged into it).
public final class PacedTriggerSource: TriggerSource, @unchecked Sendable {
    // @unchecked: `finished` and `waiter` are guarded by `lock`.
    private let items: Int?
    private let rate: Double
    private let patience: Duration
    private let lock = NSLock()
    private var finished = 0
    private var waiter: CheckedContinuation<Void, Never>?
    private var seed: UInt64

    public init(items: Int?, rate: Double, seed: UInt64 = 1, patience: Duration = .seconds(30)) {
        self.items = items
        self.rate = rate
        self.patience = patience
        self.seed = seed
    }

    /// Called when an item's cycle ended (its event was recorded).
    public func itemFinished() {
        let resume = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            finished += 1
            defer { waiter = nil }
            return waiter
        }
        resume?.resume()
    }

    private func takeWaiter() -> CheckedContinuation<Void, Never>? {
        lock.withLock {
            defer { waiter = nil }
            return waiter
        }
    }

    /// Resumes at once if item `number` already finished, else parks `continuation`.
    private func park(_ continuation: CheckedContinuation<Void, Never>, number: Int) {
        let done = lock.withLock { () -> Bool in
            if finished >= number { return true }
            waiter = continuation
            return false
        }
        if done { continuation.resume() }
    }

    public func events() -> AsyncStream<TriggerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: TriggerEvent.self)
        let task = Task { [self] in
            var state = seed
            var sent = 0
            while items.map({ sent < $0 }) ?? true, !Task.isCancelled {
                // Exponential gap (a Poisson stream of items), from a small seeded generator.
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let u = max(Double(state >> 11) / Double(1 << 53), 1e-12)
                let gap = -Foundation.log(u) / rate
                try? await Task.sleep(for: .milliseconds(Int(gap * 1000)))
                if Task.isCancelled { break }
                sent += 1
                continuation.yield(TriggerEvent(kind: .lidOpened, source: "simulated item \(sent)"))
                await waitForItem(number: sent)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func waitForItem(number: Int) async {
        let timeout = Task { [self, patience] in
            try? await Task.sleep(for: patience)
            takeWaiter()?.resume()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            park(continuation, number: number)
        }
        timeout.cancel()
    }
}
