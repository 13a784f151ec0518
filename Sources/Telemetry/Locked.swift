import Foundation

/// A value guarded by a lock, for state shared between threads (libmosquitto's loop thread,
/// the dashboard's ingest loop and HTTP handlers).
///
/// Only `withLock` touches the value, so the wrapper is safe to share across threads.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
