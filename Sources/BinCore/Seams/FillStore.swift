/// Where the fill records (items since emptied, alerts already sent) are kept across restarts:
/// a small JSON file in the data directory in the firmware, memory in tests.
public protocol FillStore: Sendable {
    /// The records saved last (empty when there are none yet).
    /// - Throws: when they exist but cannot be read.
    func load() throws -> [String: FillRecord]
    /// Replaces the saved records atomically (a crash leaves the old or the new, never a mix).
    /// - Throws: when they could not be written.
    func save(_ records: [String: FillRecord]) async throws
}
