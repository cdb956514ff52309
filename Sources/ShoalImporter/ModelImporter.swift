import Foundation
import ShoalCorpus
import ShoalModels
import ShoalStore
import ShoalTensor

/// Checks that the engine loads a model and computes finite outputs, profiles it, and publishes it.
public struct ModelImporter: Sendable {
    /// How models are checked and profiled.
    public struct Options: Sendable {
        /// The arithmetic to load and profile with; the fastest this CPU runs unless set.
        public var precision: Precision?
        /// Compute threads for the check and the profile.
        public var threads = ProcessInfo.processInfo.activeProcessorCount
        /// Seconds each profiled batch shape runs; 0 skips profiling.
        public var profileSeconds = 0.5

        public init(precision: Precision? = nil, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                    profileSeconds: Double = 0.5) {
            self.precision = precision
            self.threads = threads
            self.profileSeconds = profileSeconds
        }

        /// Throws an error naming the first setting this machine cannot run.
        public func validate() throws(StoreError) {
            guard threads >= 1 else { throw .invalidConfiguration(setting: "--threads", reason: "must be at least 1") }
            guard profileSeconds >= 0 else {
                throw .invalidConfiguration(setting: "--profile-seconds", reason: "must not be negative")
            }
            if let precision, precision.provider == nil {
                let names = Precision.available.map(\.rawValue).joined(separator: ", ")
                throw .invalidConfiguration(setting: "--precision", reason: "\(precision.rawValue) does not run on this CPU; available: \(names)")
            }
        }

        var provider: GemmProvider { precision?.provider ?? .preferred }
    }

    /// Texts every imported model must turn into finite outputs of the right width.
    static let checkTexts = SampleTexts.shortSentences + ["", String(repeating: "long input ", count: 400)]
    /// Texts a head is checked with: its base passed the full check when it was imported.
    static let headCheckTexts = [SampleTexts.shortSentences[0], ""]

    public let store: ModelStore
    public let options: Options

    public init(store: ModelStore, options: Options = Options()) throws(StoreError) {
        try options.validate()
        self.store = store
        self.options = options
    }

    /// Imports a Hugging Face model folder as the next version of `name`.
    public func importFolder(_ folder: URL, name: String, source: String? = nil,
                             progress: TransferProgress? = nil) async throws -> Manifest {
        _ = try ModelReference(name: name)
        let files = try Self.modelFiles(in: folder)
        let options = options
        let draft = try await Thread.run(named: "shoal-import") { () throws -> Manifest in
            let model = try Self.load(source: folder.path) { try Model(folder: folder, options: ModelOptions(provider: options.provider)) }
            let pool = ComputePool(threads: options.threads)
            try Self.check(model, source: folder.path, pool: pool)
            return Self.draft(model, name: name, source: source ?? folder.path, base: nil,
                              profile: try Self.profile(model, pool: pool, options: options))
        }
        return try await store.publish(draft, files: files, progress: progress)
    }

    /// Publishes one model per head folder that reuses `base`'s encoder and stores only its head.
    ///
    /// The base is read, checked against its manifest and run on the check texts once for all heads; each head
    /// then costs its own small files: it is loaded over the base and its product checked on the base's outputs
    /// (all heads before any is published, so a broken head publishes nothing), then published, `width` at a time. A derived model carries the base's profile, since a head adds
    /// only one small matrix product. A head named in `training` gets that source and training record
    /// (labels, metrics, the data's digest) in its manifest.
    public func derive(base reference: ModelReference, heads: [(name: String, folder: URL)],
                       training: [String: (source: String, record: Manifest.Training)] = [:],
                       width: Int = 16) async throws -> [Manifest] {
        for head in heads { _ = try ModelReference(name: head.name) }
        let baseManifest = try await store.manifest(reference)
        guard baseManifest.task == "embedding", baseManifest.base == nil else {
            throw StoreError.invalidModel(source: baseManifest.id, reason: "a base must be an embedding model that is not itself derived")
        }
        var scratch: URL?
        let baseFolder: URL
        if let local = store.localFolder(baseManifest) {
            try await Thread.run(named: "shoal-verify") { try VerifiedFiles().verify(baseManifest, in: local) }
            baseFolder = local
        } else {
            let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-base-\(UUID().uuidString)")
            try await store.download(baseManifest, into: temporary)
            (scratch, baseFolder) = (temporary, temporary)
        }
        defer { if let scratch { try? FileManager.default.removeItem(at: scratch) } }
        let options = options
        let (base, embeddings) = try await Thread.run(named: "shoal-import") { () throws -> (Model, [[Float]]) in
            let base = try Self.load(source: baseManifest.id) {
                try Model(folder: baseFolder, options: ModelOptions(provider: options.provider))
            }
            let pool = ComputePool(threads: options.threads)
            try Self.check(base, source: baseManifest.id, pool: pool, texts: Self.headCheckTexts)
            return (base, try base(Self.headCheckTexts, on: pool))
        }
        let baseReference = Manifest.BaseReference(name: baseManifest.name, version: baseManifest.version)
        // Every head is loaded and checked before any is published, so that a broken one publishes nothing.
        let threads = max(1, options.threads)
        let chunkSize = max(1, (heads.count + threads - 1) / threads)
        let chunks = stride(from: 0, to: heads.count, by: chunkSize).map { Array(heads[$0..<min($0 + chunkSize, heads.count)]) }
        let drafts = try await chunks.concurrentMap(width: threads) { chunk in
            try await Thread.run(named: "shoal-import") { () throws -> [(Manifest, [StagedFile])] in
                try chunk.map { head in
                    let files = try Self.headFiles(in: head.folder)
                    let model = try Self.load(source: head.folder.path) { try Model(base: base, head: head.folder) }
                    try Self.checkHead(model, over: embeddings, source: head.folder.path)
                    var draft = Self.draft(model, name: head.name, source: training[head.name]?.source ?? head.folder.path,
                                           base: baseReference, profile: baseManifest.profile)
                    draft.architecture = baseManifest.architecture
                    draft.training = training[head.name]?.record
                    return (draft, files)
                }
            }
        }.flatMap { $0 }
        let store = store
        return try await drafts.concurrentMap(width: max(1, width)) { draft, files in
            try await store.publish(draft, files: files)
        }
    }

    // MARK: Steps

    private static func load(source: String, _ body: () throws -> Model) throws -> Model {
        do {
            return try body()
        } catch let error as ModelError {
            throw StoreError.invalidModel(source: source, reason: error.description)
        }
    }

    /// Runs the check texts as one batch; every output must be finite and of the model's width.
    static func check(_ model: Model, source: String, pool: ComputePool, texts: [String] = checkTexts) throws {
        let batched: [[Float]]
        do {
            batched = try model(texts, on: pool)
        } catch let error as ModelError {
            throw StoreError.invalidModel(source: source, reason: "the engine fails on a test input: \(error.description)")
        }
        for (text, output) in zip(texts, batched) {
            guard output.count == model.dimensions else {
                throw StoreError.invalidModel(source: source, reason: "an output has \(output.count) values, not \(model.dimensions)")
            }
            guard output.allSatisfy(\.isFinite) else {
                throw StoreError.invalidModel(
                    source: source, reason: "the output for \"\(text.prefix(40))\" is not finite (NaN or infinity); the weights are broken")
            }
        }
    }

    /// Checks a head's outputs over the base's outputs for the check texts: one finite value per label.
    ///
    /// Computes the head's own layers (an optional tanh `hidden` layer, then `classifier.weight · x +
    /// classifier.bias`), the only part of its outputs that differs from its base's: the encoder ran once, for
    /// all heads. Finite logits give finite probabilities, as softmax subtracts their maximum.
    static func checkHead(_ model: Model, over embeddings: [[Float]], source: String) throws {
        let labels = model.dimensions
        let width = model.base?.dimensions ?? model.configuration.hiddenSize
        var layers: [(weight: FloatTensor, bias: FloatTensor, tanh: Bool)] = []
        do {
            let tensors = try SafeTensors(contentsOf: model.folder.appendingPathComponent("head.safetensors"))
            var inputs = width
            if let hidden = tensors.shape(of: "hidden.weight")?.first {
                layers.append((try tensors.floats("hidden.weight", shape: [hidden, width]),
                               try tensors.floats("hidden.bias", shape: [hidden]), true))
                inputs = hidden
            }
            layers.append((try tensors.floats("classifier.weight", shape: [labels, inputs]),
                           try tensors.floats("classifier.bias", shape: [labels]), false))
        } catch let error as ModelError {
            throw StoreError.invalidModel(source: source, reason: error.description)
        }
        for embedding in embeddings {
            var input = embedding
            for layer in layers {
                let (outputs, inputs) = (layer.bias.count, input.count)
                input = (0..<outputs).map { row in
                    var value = layer.bias.pointer[row]
                    for column in 0..<inputs { value += layer.weight.pointer[row * inputs + column] * input[column] }
                    return layer.tanh ? Foundation.tanh(value) : value
                }
            }
            if let label = input.firstIndex(where: { !$0.isFinite }) {
                throw StoreError.invalidModel(
                    source: source, reason: "the output for label \(label) is not finite (NaN or infinity); the head's weights are broken")
            }
        }
    }

    /// Latency and throughput of the standard batch shapes, or `nil` when profiling is off.
    static func profile(_ model: Model, pool: ComputePool, options: Options) throws -> Manifest.Profile? {
        guard options.profileSeconds > 0 else { return nil }
        let benchmark = EngineBenchmark(model: model, pool: pool, seconds: options.profileSeconds)
        let measurements = try EngineBenchmark.standardWorkloads(for: model).map { workload in
            let result = try benchmark.measure(workload, peakGFLOPs: 0)
            return Manifest.Profile.Measurement(
                workload: result.workload, batch: result.batch, tokensPerSequence: result.tokensPerSequence,
                latencyP50Ms: result.latencyP50Ms, latencyP99Ms: result.latencyP99Ms,
                sequencesPerSecond: result.sentencesPerSecond, tokensPerSecond: result.tokensPerSecond)
        }
        return Manifest.Profile(
            cpus: ProcessInfo.processInfo.activeProcessorCount, threads: pool.threads,
            provider: model.provider.rawValue, measurements: measurements)
    }

    static func draft(_ model: Model, name: String, source: String, base: Manifest.BaseReference?,
                      profile: Manifest.Profile?) -> Manifest {
        let labels: [String]
        if case .classification(let names) = model.task { labels = names } else { labels = [] }
        return Manifest(
            name: name, architecture: model.modelType, task: model.task.name, labels: labels, dimensions: model.dimensions,
            footprint: .init(weightBytes: model.parameterBytes, activationBytesPerToken: model.activationBytesPerToken,
                             precision: Precision(provider: model.provider).rawValue),
            maxSequenceLength: model.maxSequenceLength, source: source, base: base, profile: profile)
    }

    // MARK: Files

    /// The files of a model folder the engine reads: weights (`model.safetensors`), JSON configuration and
    /// vocabularies, in sub-folders too; other weight formats, hidden files and documents are left out.
    /// Symbolic links to files are followed wherever they point, as in a Hugging Face cache snapshot whose
    /// files link to shared blobs.
    static func modelFiles(in folder: URL) throws -> [StagedFile] {
        let weights = folder.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw StoreError.invalidModel(source: folder.path, reason: "no model.safetensors; export the weights as safetensors")
        }
        guard let enumerator = FileManager.default.enumerator(atPath: folder.path) else {
            throw StoreError.cannotRead(path: folder.path, reason: "not a readable folder")
        }
        var files: [StagedFile] = []
        for case let path as String in enumerator {
            let fileName = (path as NSString).lastPathComponent
            guard !path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
            let wanted = path == "model.safetensors" || fileName.hasSuffix(".json") || fileName == "vocab.txt"
                || fileName == "merges.txt" || fileName.hasSuffix(".model")
            guard wanted, path != Manifest.fileName else { continue }
            let url = folder.appendingPathComponent(path)
            let values = try? url.resolvingSymlinksInPath().resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
            guard values?.isRegularFile == true else { continue }
            files.append(StagedFile(path: path, source: url, size: Int64(values?.fileSize ?? 0)))
        }
        guard files.contains(where: { $0.path == "model.safetensors" }) else {
            throw StoreError.invalidModel(source: folder.path, reason: "model.safetensors is not a readable file")
        }
        return files.sorted { $0.path < $1.path }
    }

    /// `head.json` and `head.safetensors` of a head folder.
    static func headFiles(in folder: URL) throws -> [StagedFile] {
        try ["head.json", "head.safetensors"].map { name in
            let url = folder.appendingPathComponent(name)
            guard let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber else {
                throw StoreError.invalidModel(source: folder.path, reason: "a head folder needs head.json and head.safetensors; \(name) is missing")
            }
            return StagedFile(path: name, source: url, size: size.int64Value)
        }
    }
}
