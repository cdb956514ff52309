import Foundation
import ShoalImporter
import ShoalModels
import ShoalStore
import ShoalTensor
import ShoalTesting
import Testing
@testable import ShoalTraining

/// The whole path on the tiny BERT fixture: data → cached embeddings → heads → the store → a loadable model.
@Suite(.serialized) struct TrainerTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-train-\(UUID().uuidString)")
    var store: ModelStore { ModelStore(backend: FileSystemBackend(root: root.appendingPathComponent("store"))) }

    /// A store holding the tiny embedding model as `tiny`.
    func importTiny() async throws {
        let folder = root.appendingPathComponent("tiny")
        try TinyModel.write(to: folder, architecture: .bert, task: .embedding(pooling: .mean, normalize: true), seed: 5)
        _ = try await ModelImporter(store: store, options: .init(profileSeconds: 0)).importFolder(folder, name: "tiny")
    }

    /// `count` rows over a few words per label, so that texts differ.
    static func rows(labels: [String], count: Int, group: String? = nil) -> [LabelledRow] {
        let words = ["hello", "world", "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"]
        return (0..<count).map { index in
            let label = labels[index % labels.count]
            let text = "\(label) \(words[index % words.count]) \(words[(index / 3) % words.count]) \(index)"
            return LabelledRow(line: index + 1, text: text, label: label, group: group)
        }
    }

    func plan(_ rows: [LabelledRow], name: String = "head") -> TrainingPlan {
        TrainingPlan(base: try! ModelReference(name: "tiny"), name: name, data: LabelledData(path: "rows.jsonl", rows: rows, digest: "d1"))
    }

    @Test func aSecondHeadSkipsTheEncoderAndAnInterruptedRunResumes() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try await importTiny()
        let trainer = Trainer(store: store, threads: 1)
        let plan = plan(Self.rows(labels: ["yes", "no"], count: 40))
        // A run that finished only its first chunks: here, the first of two shards.
        let first = try await trainer.embed(plan, shard: Shard(index: 0, count: 2))
        #expect(first == .init(texts: 20, cached: 0, computed: 20, seconds: first.seconds))
        let resumed = try await trainer.embed(plan)
        #expect(resumed.cached == 20 && resumed.computed == 20)
        let again = try await trainer.embed(plan)
        #expect(again.cached == 40 && again.computed == 0, "a second head on the same texts skips the encoder")
        // Cached vectors are the encoder's own.
        let cache = EmbeddingCache(store: store, base: try await store.manifest(ModelReference(name: "tiny")))
        let cached = try await cache.load()
        let model = try Model(folder: try #require(store.localFolder(try await store.manifest(ModelReference(name: "tiny")))))
        let direct = try model(plan.texts, on: ComputePool(threads: 1))
        for (text, vector) in zip(plan.texts, direct) {
            let stored = try #require(cached[EmbeddingCache.key(text)])
            #expect(zip(stored, vector).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(text)")
        }
    }

    @Test func fitPublishesADerivedModelThatComputesWhatTheTrainerFitted() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try await importTiny()
        let trainer = Trainer(store: store, threads: 1)
        var plan = plan(Self.rows(labels: ["yes", "no", "maybe"], count: 60))
        plan.head.seed = 3
        await #expect(throws: TrainingError.missingEmbeddings(count: 60, base: "tiny@1")) { try await trainer.fit(plan) }
        _ = try await trainer.embed(plan)
        let published = try #require(try await trainer.fit(plan).first)
        #expect(published.id == "head@1" && published.base == .init(name: "tiny", version: "1"))
        #expect(published.labels == ["maybe", "no", "yes"] && published.task == "classification")
        let training = try #require(published.training)
        #expect(training.dataDigest == "d1" && training.trainRows + training.validationRows == 60 && training.seed == 3)
        #expect(training.validation.confusion.flatMap { $0 }.reduce(0, +) == training.validationRows)
        #expect(try await store.manifest(ModelReference(name: "head")) == published)

        // The engine's head over the base gives the same argmax as the fitted weights, for every text.
        let base = try Model(folder: try #require(store.localFolder(try await store.manifest(ModelReference(name: "tiny")))))
        let head = try Model(base: base, head: try #require(store.localFolder(published)))
        let probabilities = try head(plan.texts, on: ComputePool(threads: 1))
        let refit = try await trainer.fit(plan)
        #expect(refit.first?.training?.validation == training.validation, "the same seed fits the same head")
        let embeddings = try base(plan.texts, on: ComputePool(threads: 1))
        let fixed = plan
        let fitted = try await Thread.run(named: "test") {
            try Trainer.fitGroup(nil, plan: fixed, dimensions: TinyModel.hiddenSize) { row in embeddings[fixed.texts.firstIndex(of: row.text)!] }.0
        }
        let predicted = fitted.predict(Matrix(rows: embeddings.count, columns: TinyModel.hiddenSize, values: embeddings.flatMap { $0 }))
        #expect(probabilities.map { row in row.indices.max { row[$0] < row[$1] }! } == predicted)
    }

    @Test func oneClassAndBadGroupNamesAreClearErrors() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try await importTiny()
        let trainer = Trainer(store: store, threads: 1)
        let rows = Self.rows(labels: ["yes", "no"], count: 10, group: "a") + Self.rows(labels: ["yes"], count: 5, group: "b")
        _ = try await trainer.embed(plan(rows))
        await #expect(throws: TrainingError.oneClass(label: "yes", group: "b")) { try await trainer.fit(plan(rows)) }
        #expect(TrainingError.oneClass(label: "yes", group: "b").description
            == "every row in group 'b' has the label 'yes'; a classifier needs at least two labels")
        let badGroup = Self.rows(labels: ["yes", "no"], count: 4, group: "a b")
        await #expect(throws: TrainingError.self) { try await trainer.fit(plan(badGroup)) }
    }

    /// A hidden-layer head is published and loads over its base.
    @Test func aHiddenLayerHeadLoadsOverItsBase() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try await importTiny()
        let trainer = Trainer(store: store, threads: 1)
        var plan = plan(Self.rows(labels: ["yes", "no"], count: 30))
        plan.head.hiddenUnits = 4
        _ = try await trainer.embed(plan)
        let published = try #require(try await trainer.fit(plan).first)
        #expect(published.training?.hiddenUnits == 4)
        let base = try Model(folder: try #require(store.localFolder(try await store.manifest(ModelReference(name: "tiny")))))
        let head = try Model(base: base, head: try #require(store.localFolder(published)))
        let outputs = try head(["yes hello"], on: ComputePool(threads: 1))
        #expect(outputs[0].count == 2 && abs(outputs[0].reduce(0, +) - 1) < 1e-5)
    }
}
