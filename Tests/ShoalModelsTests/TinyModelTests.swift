import Foundation
import ShoalModels
import ShoalTensor
import ShoalTesting
import Testing

@Suite("Tiny BERT and DistilBERT models")
struct TinyModelTests {
    static let variants: [(TinyModel.Architecture, TinyModel.Task)] = TinyModel.Architecture.allCases.flatMap { architecture in
        [
            (architecture, .embedding(pooling: .mean, normalize: true)),
            (architecture, .embedding(pooling: .cls, normalize: false)),
            (architecture, .embedding(pooling: .max, normalize: false)),
            (architecture, .classification(labels: ["negative", "neutral", "positive"])),
        ]
    }
    static var providers: [GemmProvider] { GemmProvider.available }

    static let texts = [
        "the cat sat on the mat",
        "a",
        "",
        "hello world, this is a longer sentence with more words than the others in the batch!",
        String(repeating: "the quick brown fox ", count: 30),
    ]

    @Test("loads with the task its files describe", arguments: variants)
    func loadsTask(architecture: TinyModel.Architecture, task: TinyModel.Task) throws {
        let folder = try TemporaryFolder()
        try TinyModel.write(to: folder.url, architecture: architecture, task: task, seed: 7)
        let model = try Model(folder: folder.url)
        #expect(model.modelType == architecture.rawValue)
        #expect(model.maxSequenceLength <= TinyModel.maxPositionEmbeddings)
        switch task {
        case .embedding(let pooling, let normalize):
            let expected: Kernels.Pooling = switch pooling { case .mean: .mean; case .cls: .cls; case .max: .max }
            #expect(model.task == .embedding(pooling: expected, normalize: normalize))
            #expect(model.dimensions == TinyModel.hiddenSize)
            #expect(model.maxSequenceLength == TinyModel.maxSequenceLength)
        case .classification(let labels):
            #expect(model.task == .classification(labels: labels))
            #expect(model.dimensions == labels.count)
        }
    }

    @Test("batched outputs equal one-by-one outputs for mixed lengths", arguments: variants, providers)
    func batchedEqualsSingle(variant: (TinyModel.Architecture, TinyModel.Task), provider: GemmProvider) throws {
        let folder = try TemporaryFolder()
        try TinyModel.write(to: folder.url, architecture: variant.0, task: variant.1, seed: 11)
        let model = try Model(folder: folder.url, options: ModelOptions(provider: provider))
        let pool = ComputePool(threads: 2)
        let batched = try model(Self.texts, on: pool)
        #expect(batched.count == Self.texts.count)
        for (text, output) in zip(Self.texts, batched) {
            #expect(output.allSatisfy { $0.isFinite })
            let single = try model([text], on: pool)[0]
            #expect(maxAbsDifference(single, output) <= 1e-5, "\(text.prefix(30))")
        }
        if case .classification = variant.1 {
            for row in batched { #expect(abs(row.reduce(0, +) - 1) < 1e-5) }
        }
    }

    @Test("half-precision weights load and agree with float32", arguments: ["F16", "BF16"])
    func halfPrecision(dtype: String) throws {
        let folder = try TemporaryFolder()
        try TinyModel.write(to: folder.url, architecture: .bert, task: .embedding(pooling: .mean, normalize: true),
                            seed: 3, dtype: dtype)
        let model = try Model(folder: folder.url)
        let output = try model(["the cat"], on: ComputePool(threads: 1))[0]
        #expect(output.allSatisfy { $0.isFinite })
        #expect(abs(output.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
    }
}
