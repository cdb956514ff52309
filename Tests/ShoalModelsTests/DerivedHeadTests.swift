import Foundation
import ShoalModels
import ShoalTensor
import ShoalTesting
import Testing

@Suite("Classifier heads over a shared base")
struct DerivedHeadTests {
    @Test("a head computes softmax(W · embedding + b) on the base's embeddings", arguments: GemmProvider.available)
    func headOverEmbeddings(provider: GemmProvider) throws {
        let folder = try TemporaryFolder()
        try TinyModel.write(to: folder.child("base"), architecture: .bert,
                            task: .embedding(pooling: .mean, normalize: true), seed: 5)
        let labels = ["a", "b", "c", "d"]
        try TinyHead.write(to: folder.child("head"), labels: labels, inputs: TinyModel.hiddenSize, seed: 9)
        let base = try Model(folder: folder.child("base"), options: ModelOptions(provider: provider))
        let head = try Model(base: base, head: folder.child("head"))
        #expect(head.task == .classification(labels: labels))
        #expect(head.base === base)
        #expect(head.parameterBytes < base.parameterBytes / 10)

        let texts = ["the cat sat", "a", "hello world, this is a longer sentence"]
        let pool = ComputePool(threads: 2)
        let embeddings = try base(texts, on: pool)
        let probabilities = try head(texts, on: pool)
        let tensors = try SafeTensors(contentsOf: folder.child("head").appendingPathComponent("head.safetensors"))
        let w = try tensors.floats("classifier.weight", shape: [labels.count, TinyModel.hiddenSize])
        let b = try tensors.floats("classifier.bias", shape: [labels.count])
        for (embedding, output) in zip(embeddings, probabilities) {
            let logits = (0..<labels.count).map { j in
                w.withUnsafeBufferPointer { w in
                    b.withUnsafeBufferPointer { b in
                        (0..<TinyModel.hiddenSize).reduce(Double(b[j])) { $0 + Double(w[j * TinyModel.hiddenSize + $1]) * Double(embedding[$1]) }
                    }
                }
            }
            let top = logits.max()!
            let expected = logits.map { exp($0 - top) / logits.reduce(0) { $0 + exp($1 - top) } }
            #expect(maxAbsDifference(output, expected.map(Float.init)) <= 1e-5)
        }
        let single = try head([texts[2]], on: pool)[0]
        #expect(maxAbsDifference(single, probabilities[2]) <= 1e-5)
    }

    @Test("a classifier cannot be a base, and a head folder needs its files")
    func errors() throws {
        let folder = try TemporaryFolder()
        try TinyModel.write(to: folder.child("classifier"), architecture: .distilbert,
                            task: .classification(labels: ["x", "y"]), seed: 2)
        try TinyHead.write(to: folder.child("head"), labels: ["p", "q"], inputs: TinyModel.hiddenSize, seed: 3)
        let classifier = try Model(folder: folder.child("classifier"))
        #expect(throws: ModelError.self) { try Model(base: classifier, head: folder.child("head")) }

        try TinyModel.write(to: folder.child("base"), architecture: .bert, task: .embedding(pooling: .cls, normalize: false), seed: 4)
        let base = try Model(folder: folder.child("base"))
        #expect(throws: ModelError.missingFile(path: folder.child("empty").appendingPathComponent("head.json").path)) {
            try Model(base: base, head: folder.child("empty"))
        }
        try TinyHead.write(to: folder.child("wide"), labels: ["p"], inputs: TinyModel.hiddenSize + 1, seed: 3)
        #expect(throws: ModelError.self) { try Model(base: base, head: folder.child("wide")) }
    }
}
