import Foundation
import Synchronization

/// Runs blocking C calls (gpiod event waits, V4L2 `DQBUF`/`poll`) on a dedicated OS thread, never
/// on Swift's cooperative pool (house style rule 6).
enum BlockingThread {
    /// Starts `body` on a new thread named `name` and returns at once.
    /// - Parameter body: the loop to run; it owns whatever it captured (the C resource owner), so
    ///   the values it captures must be disconnected from the caller (`sending`).
    static func start(name: String, _ body: sending @escaping () -> Void) {
        let transfer = SentClosure(body: body)
        let thread = Thread { transfer.body() }
        thread.name = name
        thread.start()
    }
}

/// Carries a closure the compiler has proven disconnected (`sending`) into Foundation's `@Sendable`
/// thread entry point. Nothing else may use it.
private struct SentClosure: @unchecked Sendable {
    let body: () -> Void
}

/// A one-way flag a stream's `onTermination` sets to stop a blocking loop.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { flag.load(ordering: .acquiring) }

    func set() { flag.store(true, ordering: .releasing) }
}
