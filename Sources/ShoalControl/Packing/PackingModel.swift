/// What packing needs to know of one model; built from `shoal.yaml` and, where it is silent, the store.
public struct PackingModel: Sendable, Equatable, Codable {
    public var name: String
    /// Bytes the model holds in memory; for a derived model, only its head.
    public var memory: Int64
    /// The model whose encoder this one shares.
    public var base: String?
    /// Expected requests per second.
    public var traffic: Double
    /// Requests per second one core serves.
    public var throughputPerCore: Double
    /// Activation bytes per token in a batch (0 when unknown).
    public var activationBytesPerToken: Int64
    /// Where `memory` and `throughputPerCore` came from, for the plan's reasons.
    public var source: String

    public init(name: String, memory: Int64, base: String? = nil, traffic: Double, throughputPerCore: Double,
                activationBytesPerToken: Int64 = 0, source: String = "shoal.yaml") {
        self.name = name
        self.memory = memory
        self.base = base
        self.traffic = traffic
        self.throughputPerCore = throughputPerCore
        self.activationBytesPerToken = activationBytesPerToken
        self.source = source
    }

    /// Cores the expected traffic keeps busy.
    public var cores: Double { traffic / throughputPerCore }
}
