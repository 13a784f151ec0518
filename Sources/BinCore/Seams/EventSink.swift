/// Where finished events and status updates go (the MQTT publisher with its outbox, or a fake).
public protocol EventSink: Sendable {
    /// Records an event durably; when this returns the event survives a crash or power cut
    /// and will be delivered (at least once) when the transport allows.
    /// - Throws: when the event could not be made durable (disk full, outbox corrupt).
    func record(_ event: BinEvent) async throws
    /// Publishes the bin's current status (best effort, latest value wins).
    func publishStatus(_ status: BinStatus) async
    /// Publishes a fill alert (at least once while the process runs; alerts are not kept across
    /// a restart). The default implementation drops it.
    func publishAlert(_ alert: BinAlert) async
}

extension EventSink {
    public func publishAlert(_ alert: BinAlert) async {}
}
