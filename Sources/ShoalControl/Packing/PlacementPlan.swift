import Foundation
import ShoalStore

/// Where every model runs: server groups sized for one target, with the reasons behind the choice.
/// Written as `plan.json`; the runtimes (local processes, Kubernetes) and the gateway read it.
public struct PlacementPlan: Codable, Sendable, Equatable {
    /// One model (or one replica of a hot model) in a group.
    public struct Placement: Codable, Sendable, Equatable {
        public var model: String
        /// 1-based replica number, and how many replicas the model has.
        public var replica: Int
        public var replicas: Int
        /// Bytes of the model's own weights (a derived model's head).
        public var memory: Int64
        /// Cores this replica's share of the traffic keeps busy.
        public var cores: Double
        /// Requests per second this replica is expected to serve.
        public var traffic: Double
    }

    /// One server process and the models it serves.
    public struct Group: Codable, Sendable, Equatable {
        public var name: String
        public var target: String
        /// The port of the group's server (`server.port + index`).
        public var port: Int
        public var placements: [Placement]
        /// Shared encoders the group holds once, with their bytes.
        public var bases: [String]
        /// Bytes used: server overhead, activations, weights (bases once).
        public var memory: Int64
        public var memoryCapacity: Int64
        public var cores: Double
        public var coreCapacity: Double
        /// Set for a group of serverless models: stopped when idle, started on demand; nil for always on.
        public var serverless: Serverless?
    }

    /// How a serverless group is run: its idle time and the requests held while it starts.
    public struct Serverless: Codable, Sendable, Equatable, Hashable {
        /// Seconds without a request after which the group is stopped.
        public var idleSeconds: Double
        /// Most requests held while the group starts; beyond them the gateway answers 429.
        public var maxQueued: Int

        public init(idleSeconds: Double, maxQueued: Int) {
            self.idleSeconds = idleSeconds
            self.maxQueued = maxQueued
        }

        /// The plan's form of a model's `serverless` settings.
        public init(_ settings: ShoalConfiguration.ServerlessSettings) {
            self.init(idleSeconds: settings.idleSeconds, maxQueued: settings.maxQueued)
        }
    }

    /// The result of packing for one target, kept for comparison.
    public struct Alternative: Codable, Sendable, Equatable {
        public var target: String
        public var groups: Int?
        public var lowerBound: Int?
        public var costPerHour: Double?
        /// Why the target was not chosen, or could not hold the models.
        public var note: String
    }

    public var target: String
    public var pricePerHour: Double
    public var groups: [Group]
    /// No plan for this target can use fewer groups: the most of total memory, total cores and replicas of
    /// one model over one group's capacity.
    public var lowerBound: Int
    public var costPerHour: Double
    /// Cost of `lowerBound` groups.
    public var lowerBoundCostPerHour: Double
    public var algorithm: String
    public var reasons: [String]
    public var alternatives: [Alternative]
    public var created: Date

    /// Which group serves each replica of `model`.
    public func groups(serving model: String) -> [Group] {
        groups.filter { $0.placements.contains { $0.model == model } }
    }

    /// The plan as stored: sorted keys, ISO 8601 dates.
    public func encoded() throws -> Data {
        try ShoalJSON.encoder().encode(self)
    }

    /// Reads a stored plan; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> PlacementPlan {
        do {
            return try ShoalJSON.decoder().decode(PlacementPlan.self, from: data)
        } catch {
            throw ControlError.file(path: path, reason: "is not a placement plan (\(error)); write one with `shoal pack`")
        }
    }
}
