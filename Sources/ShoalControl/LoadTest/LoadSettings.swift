/// What one load-test run does; stored in its result file.
public struct LoadSettings: Codable, Sendable, Equatable {
    /// `seq`, `rnd` or `bmk`.
    public var test: String
    public var url: String
    public var `protocol`: LoadProtocol
    public var mode: LoadMode
    /// Models requests go to, chosen per request.
    public var models: [String]
    public var concurrency: Int
    /// Requests started per second in open-loop mode.
    public var rate: Double
    public var durationS: Double
    /// Most requests; 0 for no limit but the duration.
    public var requests: Int
    public var mix: RequestMix.Kind
    public var batch: Int
    public var timeoutS: Double
    /// Requests of each model in turn (`seq`) instead of a model drawn per request.
    public var sequential: Bool

    public init(test: String, url: String, protocol: LoadProtocol, mode: LoadMode, models: [String], concurrency: Int,
                rate: Double, durationS: Double, requests: Int, mix: RequestMix.Kind, batch: Int, timeoutS: Double,
                sequential: Bool = false) {
        self.test = test
        self.url = url
        self.protocol = `protocol`
        self.mode = mode
        self.models = models
        self.concurrency = concurrency
        self.rate = rate
        self.durationS = durationS
        self.requests = requests
        self.mix = mix
        self.batch = batch
        self.timeoutS = timeoutS
        self.sequential = sequential
    }

    /// The settings of `shoal.yaml`'s `test` section for `models`.
    public init(test: String, configuration: ShoalConfiguration.TestSettings, models: [String]) {
        self.init(test: test, url: configuration.url, protocol: configuration.protocol, mode: configuration.mode,
                  models: models, concurrency: configuration.concurrency, rate: configuration.rate,
                  durationS: configuration.durationS, requests: configuration.requests, mix: configuration.mix,
                  batch: configuration.batch, timeoutS: configuration.timeoutS)
    }
}
