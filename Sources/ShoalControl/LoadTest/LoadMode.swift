/// How requests are started.
public enum LoadMode: String, Codable, Sendable, CaseIterable {
    /// A fixed number of requests in flight; each starts when another ends.
    case closed
    /// Requests start at a fixed rate whatever the server does; latency counts from the planned start.
    case open
}
