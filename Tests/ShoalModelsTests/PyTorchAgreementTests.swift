import Foundation
import ShoalModels
import ShoalTensor
import ShoalTesting
import Testing

/// Outputs of the tiny models as transformers computed them (`scripts/tiny_fixtures.py`).
struct TinyExpected: Decodable {
    struct Variant: Decodable, CustomTestStringConvertible {
        struct Item: Decodable {
            var text: String
            var inputIds: [Int32]
            var truncated: Bool
            var embedding: [Float]?
            var probabilities: [Float]?
        }

        var name: String
        var architecture: String
        var task: String
        var pooling: String?
        var normalize: Bool?
        var labels: [String]?
        var seed: UInt64
        var items: [Item]

        var testDescription: String { name }

        var tinyTask: TinyModel.Task {
            if task == "classification" { return .classification(labels: labels ?? []) }
            return .embedding(pooling: TinyModel.Pooling(rawValue: pooling ?? "mean") ?? .mean, normalize: normalize ?? false)
        }
    }

    var variants: [Variant]

    static let loaded: TinyExpected? = {
        guard let url = Bundle.module.url(forResource: "Fixtures/tiny_expected", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(TinyExpected.self, from: data)
    }()
}

@Suite("Tiny models agree with PyTorch")
struct PyTorchAgreementTests {
    static var providers: [GemmProvider] { GemmProvider.available }

    @Test("the fixture loads with every variant")
    func fixtureLoads() throws {
        let expected = try #require(TinyExpected.loaded)
        #expect(expected.variants.count == 5)
    }

    @Test("ids and outputs within 1e-5 of transformers", arguments: TinyExpected.loaded?.variants ?? [], providers)
    func agrees(variant: TinyExpected.Variant, provider: GemmProvider) throws {
        let folder = try TemporaryFolder()
        let architecture = try #require(TinyModel.Architecture(rawValue: variant.architecture))
        try TinyModel.write(to: folder.url, architecture: architecture, task: variant.tinyTask, seed: variant.seed)
        let model = try Model(folder: folder.url, options: ModelOptions(provider: provider))
        let outputs = try model(variant.items.map(\.text), on: ComputePool(threads: 2))
        for (item, output) in zip(variant.items, outputs) {
            let encoding = model.tokenize(item.text)
            #expect(encoding.ids == item.inputIds, "\(item.text.prefix(30))")
            #expect(encoding.isTruncated == item.truncated)
            let reference = try #require(item.embedding ?? item.probabilities)
            // bf16x3 keeps about 16 bits of each product: outputs of up to ~3 in magnitude move by up to ~3e-5.
            let tolerance: Float = provider == .amx ? 5e-5 : 1e-5
            #expect(maxAbsDifference(output, reference) <= tolerance, "\(variant.name): \(item.text.prefix(30))")
        }
    }
}
