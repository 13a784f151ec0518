import BinCore
import Foundation

/// Prints each routed item in one line to stdout, then passes it on to the real sink.
/// `onRecorded` runs after the inner sink made the event durable.
public struct ConsoleEventSink: EventSink {
    public let inner: any EventSink
    public let onRecorded: @Sendable (BinEvent) -> Void

    public init(inner: any EventSink, onRecorded: @escaping @Sendable (BinEvent) -> Void = { _ in }) {
        self.inner = inner
        self.onRecorded = onRecorded
    }

    public func record(_ event: BinEvent) async throws {
        try await inner.record(event)
        let c = event.classification
        let line = String(format: "item %llu: %@ (%.1f%%) -> %@ at %.0f° %@| capture %.0f ms, inference %.0f ms, total %.0f ms\n",
                          event.seq, c.label, c.confidence * 100, event.route.bin, event.route.angleDegrees,
                          event.route.fallback ? "(fallback) " : "", event.timings.capture, event.timings.inference, event.timings.total)
        FileHandle.standardOutput.write(Data(line.utf8))
        onRecorded(event)
    }

    public func publishStatus(_ status: BinStatus) async {
        await inner.publishStatus(status)
    }

    public func publishAlert(_ alert: BinAlert) async {
        await inner.publishAlert(alert)
        let line = String(format: "alert: %@ %@ at %.0f%% (%@, %d item(s))\n", alert.compartment, alert.kind.rawValue,
                          alert.level * 100, alert.source.rawValue, alert.items)
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}
