extension ShoalConfiguration {
    /// A model served on demand (`models.*.serverless`): the packer puts it in a serverless group, which is
    /// stopped after `idle_seconds` without requests and started again by the gateway on the next one.
    public struct ServerlessSettings: Codable, Sendable, Hashable {
        /// Seconds without a request after which the group is stopped.
        public var idleSeconds = 300.0
        /// Most requests the gateway holds for the group while it starts; beyond them it answers 429.
        public var maxQueued = 64

        public init(idleSeconds: Double = 300, maxQueued: Int = 64) {
            self.idleSeconds = idleSeconds
            self.maxQueued = maxQueued
        }

        /// Each absent key takes its default, so that `serverless: {}` marks a model with the defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = ServerlessSettings()
            idleSeconds = try container.decodeIfPresent(Double.self, forKey: .idleSeconds) ?? defaults.idleSeconds
            maxQueued = try container.decodeIfPresent(Int.self, forKey: .maxQueued) ?? defaults.maxQueued
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case idleSeconds = "idle_seconds", maxQueued = "max_queued"
        }
    }
}
