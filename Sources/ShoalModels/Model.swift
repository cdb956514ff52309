import Foundation
import ShoalTensor
import ShoalTokenizers

/// How a model is loaded.
public struct ModelOptions: Sendable {
    /// The GEMM implementation; the fastest this CPU runs unless set.
    public var provider: GemmProvider = .preferred
    /// Caps the model's own maximum sequence length (never raises it).
    public var maxSequenceLength: Int?

    public init(provider: GemmProvider = .preferred, maxSequenceLength: Int? = nil) {
        self.provider = provider
        self.maxSequenceLength = maxSequenceLength
    }
}

/// A Hugging Face model folder loaded for inference: tokenizer, encoder and task head.
public final class Model: Sendable {
    /// The folder the model was loaded from.
    public let folder: URL
    /// `model_type` of its `config.json`.
    public let modelType: String
    public let task: ModelTask
    /// Inputs longer than this many tokens (specials included) are truncated.
    public let maxSequenceLength: Int
    /// Width of one output: embedding dimensions or number of labels.
    public let dimensions: Int
    public let tokenizer: Tokenizer
    /// The model whose encoder this one shares, for a head loaded with `init(base:head:)`.
    public let base: Model?
    let network: Network
    /// How token vectors become the vector the head (or the caller) gets.
    let pooling: Kernels.Pooling
    let normalize: Bool

    /// Loads `config.json`, `model.safetensors`, `tokenizer.json` and the sentence-transformers files of `folder`.
    public init(folder: URL, options: ModelOptions = ModelOptions()) throws {
        self.folder = folder
        let configURL = folder.appendingPathComponent("config.json")
        guard let configData = try readIfPresent(configURL) else { throw ModelError.missingFile(path: configURL.path) }
        modelType = try decodeConfiguration(CommonConfiguration.self, from: configData, path: configURL.path).modelType
        let architecture = try ArchitectureRegistry.architecture(for: modelType)
        let configuration = try architecture.configuration(from: configData, path: configURL.path)
        try configuration.encoder.validate(path: configURL.path)

        let tokenizerURL = folder.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw ModelError.missingFile(path: tokenizerURL.path)
        }
        do {
            tokenizer = try Tokenizer(contentsOf: tokenizerURL)
        } catch {
            throw ModelError.tokenizer(path: tokenizerURL.path, reason: String(describing: error))
        }
        guard tokenizer.vocabularySize <= configuration.encoder.vocabularySize else {
            throw ModelError.invalidConfiguration(
                path: configURL.path,
                reason: "the tokenizer has \(tokenizer.vocabularySize) tokens but vocab_size is \(configuration.encoder.vocabularySize)")
        }

        let weightsURL = folder.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else { throw ModelError.missingFile(path: weightsURL.path) }
        let tensors = try SafeTensors(contentsOf: weightsURL)
        let classifier = configuration.architectures.contains { $0.hasSuffix("ForSequenceClassification") }
        network = try architecture.network(
            tensors: tensors, configuration: configuration, classifier: classifier, provider: options.provider)

        // sentence-transformers truncates at max_seq_length, transformers at the tokenizer's model_max_length.
        var preferredLength = try Self.tokenizerMaxLength(folder: folder)
        if let head = network.head {
            task = .classification(labels: head.labels)
            dimensions = head.labels.count
            (pooling, normalize) = (.cls, false)
        } else {
            let sentence = try SentenceTransformersConfiguration(folder: folder)
            task = .embedding(pooling: sentence.pooling, normalize: sentence.normalize)
            dimensions = configuration.encoder.hiddenSize
            (pooling, normalize) = (sentence.pooling, sentence.normalize)
            preferredLength = sentence.maxSequenceLength ?? preferredLength
        }
        base = nil
        let maxLength = min(preferredLength ?? .max, configuration.encoder.maxPositions)
        maxSequenceLength = options.maxSequenceLength.map { min(maxLength, max($0, 2)) } ?? maxLength
    }

    /// A classifier over `base`'s embeddings, `softmax(W · embedding + b)`, sharing `base`'s encoder.
    ///
    /// `folder` holds `head.json` (`{"labels": [...]}`) and `head.safetensors` with `classifier.weight`
    /// `[labels, base.dimensions]` and `classifier.bias` `[labels]`. With `"hidden": UNITS` in `head.json`,
    /// a hidden layer `hidden.weight` `[UNITS, base.dimensions]`, `hidden.bias` and tanh comes first, and
    /// `classifier.weight` is `[labels, UNITS]`.
    public init(base: Model, head folder: URL) throws {
        guard case .embedding(let pooling, let normalize) = base.task, base.base == nil else {
            throw ModelError.invalidConfiguration(
                path: base.folder.path, reason: "a head needs an embedding model as its base, not a \(base.task.name) model")
        }
        struct HeadFile: Decodable { var labels: [String]; var hidden: Int? }
        let headURL = folder.appendingPathComponent("head.json")
        guard let data = try readIfPresent(headURL) else { throw ModelError.missingFile(path: headURL.path) }
        let file = try decodeConfiguration(HeadFile.self, from: data, path: headURL.path)
        let labels = file.labels
        guard !labels.isEmpty else {
            throw ModelError.invalidConfiguration(path: headURL.path, reason: "labels must not be empty")
        }
        if let hidden = file.hidden, hidden < 1 {
            throw ModelError.invalidConfiguration(path: headURL.path, reason: "hidden must be a whole number of units ≥ 1")
        }
        let weightsURL = folder.appendingPathComponent("head.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else { throw ModelError.missingFile(path: weightsURL.path) }
        let weights = WeightReader(
            tensors: try SafeTensors(contentsOf: weightsURL), probe: "", prefixes: [], provider: base.provider)
        var layers: [(Linear, Activation)] = []
        if let hidden = file.hidden {
            layers.append((try weights.linear("hidden", outputs: hidden, inputs: base.dimensions), .tanh))
        }
        layers.append((try weights.linear("classifier", outputs: labels.count, inputs: file.hidden ?? base.dimensions), .none))
        self.folder = folder
        self.base = base
        modelType = base.modelType
        task = .classification(labels: labels)
        maxSequenceLength = base.maxSequenceLength
        dimensions = labels.count
        tokenizer = base.tokenizer
        network = Network(encoder: base.network.encoder, head: ClassificationHead(layers: layers, labels: labels))
        (self.pooling, self.normalize) = (pooling, normalize)
    }

    /// The GEMM provider the model's weights are packed for.
    public var provider: GemmProvider { network.encoder.layers.first?.qkv.provider ?? .preferred }

    /// `model_max_length` of `tokenizer_config.json`, unless absent or the "no limit" placeholder.
    private static func tokenizerMaxLength(folder: URL) throws -> Int? {
        struct File: Decodable { var modelMaxLength: Double? }
        let url = folder.appendingPathComponent("tokenizer_config.json")
        guard let data = try readIfPresent(url) else { return nil }
        guard let length = try decodeConfiguration(File.self, from: data, path: url.path).modelMaxLength,
              length >= 2, length < 1e6 else { return nil }
        return Int(length)
    }

    /// The encoder's shape.
    public var configuration: EncoderConfiguration { network.encoder.configuration }

    /// Bytes of parameters this model holds in memory beyond its `base` (a head counts only itself).
    public var parameterBytes: Int {
        (base == nil ? network.encoder.parameterBytes : 0) + (network.head?.parameterBytes ?? 0)
    }

    /// Activation bytes one token of a batch needs while it is computed.
    public var activationBytesPerToken: Int { network.encoder.activationFloats(tokens: 1) * MemoryLayout<Float>.stride }

    /// Tokenizes one text, truncated to `maxSequenceLength`.
    public func tokenize(_ text: String) -> Encoding {
        tokenizer.encode(text, maxLength: maxSequenceLength)
    }

    /// Embeddings or class probabilities of `texts`, in input order.
    public func callAsFunction(_ texts: [String], on pool: ComputePool) throws -> [[Float]] {
        try run(texts.map(tokenize), on: pool)
    }

    /// Computes the outputs of tokenized inputs as one padding-free batch, in input order.
    public func run(_ batch: [Encoding], on pool: ComputePool) throws -> [[Float]] {
        guard !batch.isEmpty else { return [] }
        let vocabulary = Int32(configuration.vocabularySize)
        for encoding in batch {
            guard !encoding.ids.isEmpty, encoding.ids.count <= maxSequenceLength else {
                throw ModelError.invalidInput("an input has \(encoding.ids.count) tokens; allowed 1...\(maxSequenceLength)")
            }
            guard encoding.ids.allSatisfy({ $0 >= 0 && $0 < vocabulary }) else {
                throw ModelError.invalidInput("a token id is outside the vocabulary of \(vocabulary)")
            }
        }
        return try pool.withPool { raw, workspace in
            fill(workspace, with: batch)
            let hidden = try network.encoder.forward(pool: raw, threads: pool.threads, workspace: workspace)
            return try outputs(hidden: hidden, sequences: batch.count, workspace: workspace, pool: raw)
        }
    }

    private func fill(_ workspace: Workspace, with batch: [Encoding]) {
        workspace.ids.removeAll(keepingCapacity: true)
        workspace.positions.removeAll(keepingCapacity: true)
        workspace.typeIds.removeAll(keepingCapacity: true)
        workspace.offsets.removeAll(keepingCapacity: true)
        workspace.offsets.append(0)
        for encoding in batch {
            workspace.ids.append(contentsOf: encoding.ids)
            workspace.typeIds.append(contentsOf: encoding.typeIds)
            for position in 0..<encoding.ids.count { workspace.positions.append(Int32(position)) }
            workspace.offsets.append(Int32(workspace.ids.count))
        }
        let types = Int32(max(configuration.typeVocabularySize, 1))
        for i in workspace.typeIds.indices where workspace.typeIds[i] >= types || workspace.typeIds[i] < 0 {
            workspace.typeIds[i] = 0
        }
    }

    private func outputs(hidden: UnsafeMutablePointer<Float>, sequences: Int, workspace: Workspace,
                         pool: OpaquePointer?) throws(KernelError) -> [[Float]] {
        let width = configuration.hiddenSize
        let slot = TransformerEncoder.Slot.self
        let pooled = workspace.buffer(slot.pooled.rawValue, count: sequences * width)
        workspace.offsets.withUnsafeBufferPointer { offsets in
            Kernels.poolTokens(sequences: sequences, offsets: offsets.baseAddress!, hidden: width, x: hidden,
                               pooling: pooling, normalize: normalize, output: pooled)
        }
        guard let head = network.head else { return rows(pooled, count: sequences, width: width) }
        var input = UnsafePointer(pooled)
        var output = pooled
        for (index, layer) in head.layers.enumerated() {
            output = workspace.buffer((index % 2 == 0 ? slot.head0 : slot.head1).rawValue, count: sequences * layer.linear.outputs)
            try layer.linear.apply(rows: sequences, input: input, output: output, activation: layer.activation, pool: pool)
            input = UnsafePointer(output)
        }
        Kernels.softmaxRows(rows: sequences, width: dimensions, x: output)
        return rows(output, count: sequences, width: dimensions)
    }

    private func rows(_ pointer: UnsafeMutablePointer<Float>, count: Int, width: Int) -> [[Float]] {
        (0..<count).map { Array(UnsafeBufferPointer(start: pointer + $0 * width, count: width)) }
    }
}
