import Foundation
import ShoalCorpus
import ShoalTensor

/// The engine benchmark: fixed workloads of real text through tokenization, encoder and pooling.
public struct EngineBenchmark: Sendable {
    /// One batch shape to measure.
    public struct Workload: Sendable {
        public var name: String
        public var texts: [String]
    }

    /// Measured figures of one workload.
    public struct Result: Codable, Sendable {
        public var workload: String
        public var batch: Int
        public var tokensPerSequence: Double
        public var sentencesPerSecond: Double
        public var tokensPerSecond: Double
        public var latencyP50Ms: Double
        public var latencyP99Ms: Double
        public var gflops: Double
        public var peakFraction: Double
        public var iterations: Int
    }

    static let paragraph = """
        Search engines, recommendation systems and chat assistants all rely on text embeddings, \
        dense vectors that place sentences with similar meaning close together in a shared space. \
        A small encoder such as MiniLM turns each token into a contextual vector with a stack of \
        self-attention layers, and the sentence vector is simply the average of those token \
        vectors, scaled to unit length so that a dot product equals cosine similarity. Because the \
        encoder is small, a single commodity CPU core can embed hundreds of short sentences per \
        second, which makes it attractive for batch indexing jobs as well as for online serving \
        behind an HTTP API with strict latency budgets and modest hardware.
        """

    /// The names of the standard workloads, in the order they run.
    public static let workloadNames = ["b1_short", "b32_short", "b8_128tok"]

    /// The standard workloads: `b1_short`, `b32_short`, `b8_128tok` (texts of about 128 tokens for `model`).
    public static func standardWorkloads(for model: Model) -> [Workload] {
        [
            Workload(name: workloadNames[0], texts: [SampleTexts.shortSentences[0]]),
            Workload(name: workloadNames[1], texts: (0..<32).map { SampleTexts.shortSentences[$0 % SampleTexts.shortSentences.count] }),
            Workload(name: workloadNames[2], texts: (0..<8).map { texts(ofTokens: 128, rotation: $0 * 7, model: model) }),
        ]
    }

    /// A text of the paragraph's words, rotated, that tokenizes to about `tokens` tokens.
    static func texts(ofTokens tokens: Int, rotation: Int, model: Model) -> String {
        let words = paragraph.split(separator: " ")
        let rotated = Array(words[(rotation % words.count)...] + words[..<(rotation % words.count)])
        var text = ""
        for word in rotated + rotated + rotated {
            let candidate = text.isEmpty ? String(word) : text + " " + word
            if model.tokenizer.encode(candidate, maxLength: nil).ids.count > tokens { break }
            text = candidate
        }
        return text
    }

    /// Floating-point operations of one forward pass over sequences of the given lengths.
    public static func flops(configuration c: EncoderConfiguration, lengths: [Int]) -> Double {
        let h = Double(c.hiddenSize), i = Double(c.intermediateSize), layers = Double(c.layers)
        let tokens = Double(lengths.reduce(0, +))
        let dense = 2 * tokens * (4 * h * h + 2 * h * i)
        let attention = lengths.reduce(0.0) { $0 + 4 * Double($1) * Double($1) * h }
        return layers * (dense + attention)
    }

    public let model: Model
    public let pool: ComputePool
    public let seconds: Double

    public init(model: Model, pool: ComputePool, seconds: Double = 2) {
        self.model = model
        self.pool = pool
        self.seconds = seconds
    }

    /// Runs one workload for about `seconds` after a warm-up and reports throughput and latency.
    public func measure(_ workload: Workload, peakGFLOPs: Double) throws -> Result {
        let lengths = workload.texts.map { model.tokenize($0).ids.count }
        for _ in 0..<3 { _ = try model(workload.texts, on: pool) }
        var latencies: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        repeat {
            let begin = DispatchTime.now().uptimeNanoseconds
            _ = try model(workload.texts, on: pool)
            let end = DispatchTime.now().uptimeNanoseconds
            latencies.append(Double(end - begin) / 1e9)
            elapsed = Double(end - start) / 1e9
        } while elapsed < seconds || latencies.count < 10
        latencies.sort()
        let perBatch = latencies.reduce(0, +) / Double(latencies.count)
        let tokens = Double(lengths.reduce(0, +))
        let gflops = Self.flops(configuration: model.configuration, lengths: lengths) / perBatch / 1e9
        return Result(
            workload: workload.name, batch: workload.texts.count, tokensPerSequence: tokens / Double(lengths.count),
            sentencesPerSecond: Double(workload.texts.count) / perBatch, tokensPerSecond: tokens / perBatch,
            latencyP50Ms: percentile(latencies, 0.50) * 1000, latencyP99Ms: percentile(latencies, 0.99) * 1000,
            gflops: gflops, peakFraction: peakGFLOPs > 0 ? gflops / peakGFLOPs : 0, iterations: latencies.count)
    }

    private func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }
}
