import Foundation
import ShoalModels
import ShoalTensor
import Testing

@Suite("all-MiniLM-L6-v2 against sentence-transformers")
struct GoldenTests {
    static var providers: [GemmProvider] { GemmProvider.available }

    @Test("the model folder loads as a normalised mean-pooling embedding model")
    func loads() throws {
        let model = try RealModel.load()
        #expect(model.modelType == "bert")
        #expect(model.task == .embedding(pooling: .mean, normalize: true))
        #expect(model.dimensions == 384)
        #expect(model.maxSequenceLength == 256)
    }

    @Test("all 24 public items: identical ids, max |Δ| ≤ 1e-4 and cosine ≥ 0.99999", arguments: providers)
    func goldenItems(provider: GemmProvider) throws {
        let golden = try Golden.load()
        #expect(golden.items.count == 24)
        let model = try RealModel.load(provider: provider)
        let pool = ComputePool(threads: 2)
        let outputs = try model(golden.items.map(\.text), on: pool)
        for (item, output) in zip(golden.items, outputs) {
            let encoding = model.tokenize(item.text)
            #expect(encoding.ids == item.inputIds, "ids of \(item.text.debugDescription)")
            #expect(encoding.isTruncated == item.truncated)
            #expect(maxAbsDifference(output, item.embedding) <= 1e-4, "\(item.text.debugDescription)")
            #expect(cosine(output, item.embedding) >= 0.99999, "\(item.text.debugDescription)")
        }
    }

    @Test("a batch of mixed lengths equals the items run one by one", arguments: providers)
    func batchedEqualsSingle(provider: GemmProvider) throws {
        let golden = try Golden.load()
        let model = try RealModel.load(provider: provider)
        let pool = ComputePool(threads: 2)
        let texts = golden.items.map(\.text)
        let batched = try model(texts, on: pool)
        for (text, output) in zip(texts, batched) {
            let single = try model([text], on: pool)[0]
            #expect(maxAbsDifference(single, output) <= 1e-5, "\(text.debugDescription)")
        }
    }
}
