import BinCore
import Synchronization

/// The error the fakes throw when told to fail.
public struct FakeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Frame {
    /// A 2×2 grey frame with the given origin (the fakes key their scripts on it).
    public static func fake(_ origin: String) -> Frame {
        Frame(width: 2, height: 2, rgb: [UInt8](repeating: 128, count: 12), origin: origin)
    }
}

/// Suspends until the task is cancelled, then throws `CancellationError`.
func hangUntilCancelled() async throws {
    let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    for await _ in stream {}
    withExtendedLifetime(continuation) {}
    throw CancellationError()
}

/// A trigger source the test pushes edges into. One consumer.
public final class FakeTriggerSource: TriggerSource {
    private let stream: AsyncStream<TriggerEvent>
    private let continuation: AsyncStream<TriggerEvent>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: TriggerEvent.self)
    }

    public func events() -> AsyncStream<TriggerEvent> { stream }

    /// Delivers one edge.
    public func send(_ kind: TriggerKind, source: String = "fake") {
        continuation.yield(TriggerEvent(kind: kind, source: source))
    }

    /// Ends the stream (like the end of a script).
    public func finish() { continuation.finish() }
}

/// A frame source that answers each capture from a queue of responses; with an empty queue it
/// returns `Frame.fake("fake-<n>")`.
public final class FakeFrameSource: FrameSource {
    public enum Response: Sendable {
        case frame(Frame)
        case fail(String)
        /// Never completes (until cancelled): for capture timeouts.
        case hang
    }

    private let state = Mutex<(queue: [Response], captures: Int)>(([], 0))

    public init(_ responses: [Response] = []) {
        state.withLock { $0.queue = responses }
    }

    /// Queues the response to a later capture.
    public func enqueue(_ response: Response) { state.withLock { $0.queue.append(response) } }
    /// Queues a fake frame with this origin.
    public func enqueue(origin: String) { enqueue(.frame(.fake(origin))) }
    /// How many captures were asked for.
    public var captureCount: Int { state.withLock { $0.captures } }

    /// Takes the next response (used by `capture()` and by the synchronous `StateMachineDriver`).
    public func nextResponse() -> Response {
        state.withLock { state in
            state.captures += 1
            return state.queue.isEmpty ? .frame(.fake("fake-\(state.captures)")) : state.queue.removeFirst()
        }
    }

    public func capture() async throws -> Frame {
        switch nextResponse() {
        case .frame(let frame): return frame
        case .fail(let message): throw FakeError(message)
        case .hang: try await hangUntilCancelled(); throw CancellationError()
        }
    }
}

/// A classifier that answers from a script keyed by the frame's origin.
public final class ScriptedClassifier: Classifier {
    public enum Outcome: Sendable {
        case result(label: String, confidence: Double)
        case fail(String)
        case hang
    }

    public let model: ModelInfo
    /// The model's labels in class order; a scripted label not in it gets class index -1.
    public let labels: [String]
    private let script = Mutex<[String: Outcome]>([:])

    public init(labels: [String], script: [String: Outcome] = [:],
                model: ModelInfo = ModelInfo(name: "scripted", sha256: String(repeating: "0", count: 64), precision: "fp32")) {
        self.labels = labels
        self.model = model
        self.script.withLock { $0 = script }
    }

    /// Scripts the outcome for frames from `origin`.
    public func set(_ origin: String, _ outcome: Outcome) { script.withLock { $0[origin] = outcome } }

    /// The outcome for a frame; unscripted origins fail.
    public func outcome(for frame: Frame) -> Outcome {
        script.withLock { $0[frame.origin] } ?? .fail("no classification scripted for \(frame.origin)")
    }

    /// The classification a `.result` outcome stands for.
    public func classification(label: String, confidence: Double) -> Classification {
        Classification(label: label, classIndex: labels.firstIndex(of: label) ?? -1, confidence: confidence,
                       top: [LabelScore(label: label, score: confidence)])
    }

    public func classify(_ frame: Frame) async throws -> ClassifierOutput {
        switch outcome(for: frame) {
        case .result(let label, let confidence):
            return ClassifierOutput(classification: classification(label: label, confidence: confidence),
                                    preprocessMilliseconds: 1, inferenceMilliseconds: 2)
        case .fail(let message): throw FakeError(message)
        case .hang: try await hangUntilCancelled(); throw CancellationError()
        }
    }
}

/// A flap that records every move; each move takes the next queued response (default: arrive).
public final class RecordingFlap: Flap {
    public enum Response: Sendable { case arrive, fail(String), hang }

    private let state = Mutex<(queue: [Response], moves: [Double], releases: Int)>(([], [], 0))

    public init() {}

    public func enqueue(_ response: Response) { state.withLock { $0.queue.append(response) } }
    /// Every angle the flap was asked to move to, in order.
    public var moves: [Double] { state.withLock { $0.moves } }
    public var releaseCount: Int { state.withLock { $0.releases } }

    /// Records a move and takes its response (used by `move` and the `StateMachineDriver`).
    public func nextResponse(forMoveTo degrees: Double) -> Response {
        state.withLock { state in
            state.moves.append(degrees)
            return state.queue.isEmpty ? .arrive : state.queue.removeFirst()
        }
    }

    public func noteRelease() { state.withLock { $0.releases += 1 } }

    public func move(toDegrees degrees: Double) async throws {
        switch nextResponse(forMoveTo: degrees) {
        case .arrive: return
        case .fail(let message): throw FakeError(message)
        case .hang: try await hangUntilCancelled()
        }
    }

    public func release() async { noteRelease() }
}

/// An event sink that keeps everything it is given.
public final class RecordingEventSink: EventSink {
    public enum Response: Sendable { case store, fail(String), hang }

    private let state = Mutex<(queue: [Response], events: [BinEvent], statuses: [BinStatus], alerts: [BinAlert])>(([], [], [], []))

    public init() {}

    public func enqueue(_ response: Response) { state.withLock { $0.queue.append(response) } }
    public var events: [BinEvent] { state.withLock { $0.events } }
    public var statuses: [BinStatus] { state.withLock { $0.statuses } }
    public var alerts: [BinAlert] { state.withLock { $0.alerts } }

    /// Takes the response for the next record (used by `record` and the `StateMachineDriver`).
    public func nextResponse() -> Response {
        state.withLock { $0.queue.isEmpty ? .store : $0.queue.removeFirst() }
    }

    public func record(_ event: BinEvent) async throws {
        switch nextResponse() {
        case .store: state.withLock { $0.events.append(event) }
        case .fail(let message): throw FakeError(message)
        case .hang: try await hangUntilCancelled()
        }
    }

    public func publishStatus(_ status: BinStatus) async {
        state.withLock { $0.statuses.append(status) }
    }

    public func publishAlert(_ alert: BinAlert) async {
        state.withLock { $0.alerts.append(alert) }
    }
}

/// Fill records kept in memory (the file-backed store's test twin).
public final class MemoryFillStore: FillStore {
    private let state: Mutex<(records: [String: FillRecord], saves: Int)>

    public init(_ records: [String: FillRecord] = [:]) { state = Mutex((records, 0)) }

    public var records: [String: FillRecord] { state.withLock { $0.records } }
    public var saves: Int { state.withLock { $0.saves } }

    public func load() throws -> [String: FillRecord] { records }

    public func save(_ records: [String: FillRecord]) async throws {
        state.withLock { $0 = (records, $0.saves + 1) }
    }
}

/// Fill hardware the test pushes observations into (levels, button presses). One consumer.
public final class FakeFillSensor: FillSensor {
    private let stream: AsyncStream<FillObservation>
    private let continuation: AsyncStream<FillObservation>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: FillObservation.self)
    }

    public func observations() -> AsyncStream<FillObservation> { stream }

    /// Reports a measured level of `compartment`.
    public func measure(_ compartment: String, _ level: Double, source: String = "fake-sonar") {
        continuation.yield(FillObservation(compartment: compartment, kind: .level(level), source: source))
    }

    /// Reports a press of `compartment`'s emptied button.
    public func press(_ compartment: String, source: String = "fake-button") {
        continuation.yield(FillObservation(compartment: compartment, kind: .buttonPressed, source: source))
    }

    public func finish() { continuation.finish() }
}
