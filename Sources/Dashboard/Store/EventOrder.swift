/// Which end of the history `/api/events` starts from.
public enum EventOrder: String, Sendable, CaseIterable {
    /// Newest first (the default).
    case desc
    /// Oldest first.
    case asc
}
