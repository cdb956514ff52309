import Foundation
import ShoalImporter
import ShoalModels
import ShoalStore
import ShoalTensor

/// Trains classifier heads over a frozen base encoder and publishes them into the store as derived models.
///
/// Two steps, each runnable in its own process: `embed` computes the pooled embeddings of the texts the
/// cache lacks (one shard of them, or all) and writes them to the store's cache chunk by chunk; `fit` reads
/// them back, fits one head per group, scores it and publishes every head in one `derive`.
public struct Trainer: Sendable {
    /// What one embedding step did.
    public struct EmbeddingReport: Sendable, Codable, Equatable {
        /// Distinct texts of this shard.
        public var texts: Int
        /// Of them, found in the cache.
        public var cached: Int
        /// Of them, run through the encoder.
        public var computed: Int
        public var seconds: Double
    }

    /// Texts the encoder runs between two writes of the cache: what a killed run loses at most.
    public static let chunkSize = 512

    public let store: ModelStore
    /// Compute threads of the encoder.
    public let threads: Int

    public init(store: ModelStore, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.store = store
        self.threads = max(1, threads)
    }

    /// The base's manifest, refused unless it is an embedding model of its own.
    public func baseManifest(_ plan: TrainingPlan) async throws -> Manifest {
        let manifest = try await store.manifest(plan.base)
        guard manifest.task == "embedding", manifest.base == nil else {
            throw StoreError.invalidModel(source: manifest.id, reason: "a base must be an embedding model that is not itself derived")
        }
        return manifest
    }

    /// Embeds the texts of `shard` that the cache lacks; `progress` gets (done, total) texts.
    public func embed(_ plan: TrainingPlan, shard: Shard = .whole,
                      progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> EmbeddingReport {
        let started = Date()
        let manifest = try await baseManifest(plan)
        let cache = EmbeddingCache(store: store, base: manifest)
        let cached = try await cache.load()
        let texts = Array(shard.slice(plan.texts))
        let missing = texts.filter { cached[EmbeddingCache.key($0)] == nil }
        var report = EmbeddingReport(texts: texts.count, cached: texts.count - missing.count, computed: 0, seconds: 0)
        progress?(report.cached, texts.count)
        if !missing.isEmpty {
            let (model, scratch) = try await loadModel(manifest)
            defer { if let scratch { try? FileManager.default.removeItem(at: scratch) } }
            let pool = ComputePool(threads: threads)
            for start in stride(from: 0, to: missing.count, by: Self.chunkSize) {
                let chunk = Array(missing[start..<min(start + Self.chunkSize, missing.count)])
                let vectors = try await Thread.run(named: "shoal-train-embed") { try Self.encode(chunk, model: model, pool: pool) }
                try await cache.write(zip(chunk, vectors).map { (EmbeddingCache.key($0), $1) })
                report.computed += chunk.count
                progress?(report.cached + report.computed, texts.count)
            }
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Fits and scores one head per group from the cached embeddings and publishes them all.
    public func fit(_ plan: TrainingPlan) async throws -> [Manifest] {
        try plan.validate()
        let manifest = try await baseManifest(plan)
        let cached = try await EmbeddingCache(store: store, base: manifest).load()
        let missing = plan.texts.filter { cached[EmbeddingCache.key($0)] == nil }.count
        guard missing == 0 else { throw TrainingError.missingEmbeddings(count: missing, base: manifest.id) }
        let dimensions = manifest.dimensions
        let heads = try await Thread.run(named: "shoal-train-fit") { () throws -> [(String?, FittedHead, Manifest.Training)] in
            try plan.groups.map { group in
                let (head, record) = try Self.fitGroup(group, plan: plan, dimensions: dimensions) { cached[EmbeddingCache.key($0.text)]! }
                return (group, head, record)
            }
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var list: [(name: String, folder: URL)] = []
        var records: [String: (source: String, record: Manifest.Training)] = [:]
        for (group, head, record) in heads {
            let name = plan.modelName(group: group)
            let headFolder = folder.appendingPathComponent(name)
            try HeadFolder.write(head, to: headFolder)
            list.append((name, headFolder))
            records[name] = ("train: \(plan.data.path)", record)
        }
        let importer = try ModelImporter(store: store, options: .init(threads: threads, profileSeconds: 0))
        return try await importer.derive(base: ModelReference(name: manifest.name, version: manifest.version), heads: list, training: records)
    }

    // MARK: Steps

    /// The base model, from its folder in a local store or a downloaded copy (returned to remove afterwards).
    private func loadModel(_ manifest: Manifest) async throws -> (Model, URL?) {
        var scratch: URL?
        let folder: URL
        if let local = store.localFolder(manifest) {
            folder = local
        } else {
            let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-train-base-\(UUID().uuidString)")
            try await store.download(manifest, into: temporary)
            (scratch, folder) = (temporary, temporary)
        }
        let model = try await Thread.run(named: "shoal-train-load") { try Model(folder: folder) }
        return (model, scratch)
    }

    /// Pooled embeddings of `texts` in their order, run shortest first in batches of similar lengths.
    static func encode(_ texts: [String], model: Model, pool: ComputePool) throws -> [[Float]] {
        let encodings = texts.map(model.tokenize)
        let order = encodings.indices.sorted { encodings[$0].ids.count < encodings[$1].ids.count }
        var vectors = [[Float]](repeating: [], count: texts.count)
        var batch: [Int] = []
        var tokens = 0
        func flush() throws {
            guard !batch.isEmpty else { return }
            for (index, vector) in zip(batch, try model.run(batch.map { encodings[$0] }, on: pool)) { vectors[index] = vector }
            (batch, tokens) = ([], 0)
        }
        for index in order {
            let length = encodings[index].ids.count
            if tokens + length > 4_096 || batch.count == 64 { try flush() }
            batch.append(index)
            tokens += length
        }
        try flush()
        return vectors
    }

    /// Fits one group's head and scores it on its validation (and test) rows.
    static func fitGroup(_ group: String?, plan: TrainingPlan, dimensions: Int,
                         vector: (LabelledRow) -> [Float]) throws -> (FittedHead, Manifest.Training) {
        let started = Date()
        let rows = plan.data.rows.filter { $0.group == group }
        let labels = Set(rows.map(\.label)).sorted()
        guard labels.count >= 2 else { throw TrainingError.oneClass(label: labels.first ?? "", group: group) }
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        // Rows of other files whose label this head has never seen cannot be scored; they are left out.
        let known = { (data: LabelledData?) in (data?.rows ?? []).filter { $0.group == group && index[$0.label] != nil } }
        var trainRows = rows
        var validationRows = known(plan.validation)
        if plan.validation == nil {
            let split = StratifiedSplit(labels: rows.map { index[$0.label]! }, fraction: plan.validationFraction, seed: plan.head.seed)
            (trainRows, validationRows) = (split.train.map { rows[$0] }, split.validation.map { rows[$0] })
        }
        guard !validationRows.isEmpty else {
            throw TrainingError.tooFewRows(group: group, reason: "no label has two rows, so none can be held out for validation; add rows or pass --validation FILE")
        }
        func matrix(_ rows: [LabelledRow]) -> Matrix {
            Matrix(rows: rows.count, columns: dimensions, values: rows.flatMap(vector))
        }
        let targets = { (rows: [LabelledRow]) in rows.map { index[$0.label]! } }
        let train = matrix(trainRows), validation = matrix(validationRows)
        let head = HeadFitter(settings: plan.head).fit(
            train: train, targets: targets(trainRows), validation: validation, validationTargets: targets(validationRows), labels: labels)
        let fitSeconds = Date().timeIntervalSince(started)
        let validationScores = Manifest.Evaluation(truth: targets(validationRows), predicted: head.predict(validation), labels: labels)
        var testScores: Manifest.Evaluation?
        if plan.test != nil {
            let testRows = known(plan.test)
            testScores = Manifest.Evaluation(truth: targets(testRows), predicted: head.predict(matrix(testRows)), labels: labels)
        }
        let record = Manifest.Training(
            dataDigest: plan.data.digest, validationDigest: plan.validation?.digest, group: group, trainRows: trainRows.count,
            validationRows: validationRows.count, seed: plan.head.seed, l2: plan.head.l2 ?? 1 / Double(trainRows.count),
            hiddenUnits: plan.head.hiddenUnits, classWeights: plan.head.classWeights.rawValue, iterations: head.iterations,
            bestIteration: head.bestIteration, fitSeconds: fitSeconds, validation: validationScores, test: testScores)
        return (head, record)
    }
}
