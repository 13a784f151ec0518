import Telemetry
import ServiceLifecycle

/// Fans stored events, fill alerts and bin changes out to the open `/api/stream` connections.
///
/// Each subscriber gets its own stream that keeps the newest `bufferSize` messages, so a slow
/// browser loses old feed entries instead of holding up ingest. As a `Service` it sends a
/// heartbeat every `heartbeatInterval` (so dead connections are noticed and proxies keep them
/// open) and ends every stream on graceful shutdown, which lets the HTTP server drain.
public final class LiveFeed: Service, Sendable {
    /// One message of the feed.
    public enum Message: Sendable, Hashable {
        case event(EventRecord)
        case change(BinChange)
        case alert(AlertRecord)
        case heartbeat
    }

    private struct State {
        var nextID = 0
        var subscribers: [Int: AsyncStream<Message>.Continuation] = [:]
        var finished = false
    }

    private let state = Locked(State())
    private let bufferSize: Int
    private let heartbeatInterval: Duration

    public init(bufferSize: Int = 1000, heartbeatInterval: Duration = .seconds(15)) {
        self.bufferSize = bufferSize
        self.heartbeatInterval = heartbeatInterval
    }

    /// A stream of everything published from now on; it ends when the feed finishes.
    public func subscribe() -> AsyncStream<Message> {
        let (stream, continuation) = AsyncStream.makeStream(of: Message.self,
                                                            bufferingPolicy: .bufferingNewest(bufferSize))
        let id = state.withLock { state -> Int? in
            guard !state.finished else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = continuation
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Open subscriptions.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    public func publish(_ message: Message) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield(message) }
    }

    /// Ends every stream; later subscriptions end at once.
    public func finish() {
        let subscribers = state.withLock { state -> [AsyncStream<Message>.Continuation] in
            state.finished = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// Sends heartbeats until graceful shutdown or cancellation, then finishes the feed.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.heartbeatInterval) } catch { break }
                self.publish(.heartbeat)
            }
        }
        finish()
    }
}
