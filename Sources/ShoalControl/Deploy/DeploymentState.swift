import Foundation

/// What the supervisor reports about a running deployment, kept in `state.json` and rewritten on each change.
public struct DeploymentState: Codable, Sendable, Equatable {
    /// One supervised process as last seen.
    public struct Member: Codable, Sendable, Equatable {
        public var name: String
        public var host: String
        public var port: Int
        public var models: [String]
        /// The current process, or nil while it waits to restart.
        public var pid: Int32?
        public var restarts: Int
        public var log: String
        /// Exit status of the last process that ended, if any.
        public var lastExit: Int32?
        /// Started on demand (a serverless group): without a process it is cold, not restarting.
        public var onDemand: Bool

        /// `warm` or `cold` for a member started on demand, nil for one that always runs.
        public var temperature: String? { onDemand ? (pid == nil ? "cold" : "warm") : nil }

        /// The address clients use.
        public var url: String { "http://\(host):\(port)" }
    }

    public var supervisorPid: Int32
    public var started: Date
    public var members: [Member]
    /// The loopback port of the supervisor's control endpoint, which starts and stops on-demand members.
    public var controlPort: Int?

    /// Every process id the deployment holds: the supervisor's and its members'.
    public var pids: [Int32] { [supervisorPid] + members.compactMap(\.pid) }
}
