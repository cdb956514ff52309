import Foundation
@testable import ShoalModels
import ShoalTensor
import ShoalTesting
import Testing

/// A parsed JSON document, compared structurally (key order ignored): the safetensors header's JSON value.
private typealias JSONValue = SafeTensorsHeader.Value

fileprivate extension SafeTensorsHeader.Value {
    init(contentsOf url: URL) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
    }

    /// The value without the object member `key` (a no-op for other values).
    func removing(_ key: String) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members[key] = nil
        return .object(members)
    }
}

/// `Fixtures/tiny_expected.json`, written by `scripts/tiny_fixtures.py`.
private struct TinyFixture: Decodable, Sendable {
    struct Tensor: Decodable, Sendable, Equatable {
        let name: String
        let shape: [Int]

        init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }

        /// Decodes the script's `[name, shape]` pairs.
        init(from decoder: any Decoder) throws {
            var pair = try decoder.unkeyedContainer()
            name = try pair.decode(String.self)
            shape = try pair.decode([Int].self)
        }
    }

    struct Variant: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let architecture: String
        let task: String
        let pooling: String?
        let normalize: Bool?
        let labels: [String]?
        let seed: UInt64
        let tensors: [Tensor]
        let weightSamples: [String: [Double]]
        let files: [String: JSONValue]

        enum CodingKeys: String, CodingKey {
            case name, architecture, task, pooling, normalize, labels, seed, tensors, files
            case weightSamples = "weight_samples"
        }

        var testDescription: String { name }

        /// The `TinyModel` arguments this variant was generated with.
        func model() throws -> (TinyModel.Architecture, TinyModel.Task) {
            guard let architecture = TinyModel.Architecture(rawValue: architecture) else {
                throw ModelError.invalidInput("unknown architecture \(architecture)")
            }
            if task == "classification", let labels {
                return (architecture, .classification(labels: labels))
            }
            guard task == "embedding", let pooling = pooling.flatMap(TinyModel.Pooling.init), let normalize else {
                throw ModelError.invalidInput("variant \(name) has an unknown task")
            }
            return (architecture, .embedding(pooling: pooling, normalize: normalize))
        }

        /// Writes this variant with `TinyModel.write` into `folder`.
        func write(to folder: URL, dtype: String = "F32") throws {
            let (architecture, task) = try model()
            try TinyModel.write(to: folder, architecture: architecture, task: task, seed: seed, dtype: dtype)
        }
    }

    let vocab: [String]
    let tokenizerJSON: JSONValue
    let variants: [Variant]

    enum CodingKeys: String, CodingKey {
        case vocab, variants
        case tokenizerJSON = "tokenizer_json"
    }

    static func load() throws -> TinyFixture {
        guard let url = Bundle.module.url(forResource: "tiny_expected", withExtension: "json", subdirectory: "Fixtures") else {
            throw ModelError.missingFile(path: "Fixtures/tiny_expected.json")
        }
        return try JSONDecoder().decode(TinyFixture.self, from: Data(contentsOf: url))
    }

    /// The variants, or none when the fixture cannot be read (which `fixtureDescribesFiveVariants` reports).
    static let variants: [Variant] = (try? load().variants) ?? []
}

/// A model folder in the temporary directory, removed when the value goes away.
private final class FixtureFolder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-tiny-\(UUID().uuidString)")

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

@Suite struct TinyFixtureTests {
    @Test func fixtureDescribesFiveVariantsOverTheSameVocabulary() throws {
        let fixture = try TinyFixture.load()
        #expect(fixture.variants.map(\.name) == [
            "bert-embed-mean-normalized", "bert-classify", "distilbert-embed-cls",
            "distilbert-embed-max-normalized", "distilbert-classify",
        ])
        #expect(fixture.vocab == TinyTokenizer.vocabulary)
    }

    @Test func tokenizerJSONMatchesTheTokenizersLibrary() throws {
        let fixture = try TinyFixture.load()
        let written = try JSONDecoder().decode(JSONValue.self, from: Data(TinyTokenizer.json.utf8))
        #expect(written == fixture.tokenizerJSON)
        #expect(TinyTokenizer.vocabText.split(separator: "\n").map(String.init) == fixture.vocab)
    }

    /// The Swift and Python splitmix64 agree: the first values of a few tensors, the last of which pins the whole stream.
    @Test(arguments: TinyFixture.variants)
    fileprivate func weightsMatchThePythonGenerator(_ variant: TinyFixture.Variant) throws {
        let folder = FixtureFolder()
        try variant.write(to: folder.url)
        let (architecture, task) = try variant.model()
        let layout = TinyModel.tensorLayout(architecture: architecture, task: task)
        #expect(layout.map { TinyFixture.Tensor(name: $0.name, shape: $0.shape) } == variant.tensors)

        let weights = try SafeTensors(contentsOf: folder.url.appendingPathComponent("model.safetensors"))
        #expect(weights.tensorNames == variant.tensors.map(\.name).sorted())
        for tensor in variant.tensors {
            #expect(weights.shape(of: tensor.name) == tensor.shape)
            #expect(weights.dtype(of: tensor.name) == "F32")
        }
        #expect(variant.weightSamples.count == 3)
        for (name, expected) in variant.weightSamples {
            let shape = try #require(weights.shape(of: name))
            let first = try weights.floats(name, shape: shape).withUnsafeBufferPointer { Array($0.prefix(expected.count)) }
            #expect(first == expected.map { Float($0) }, "\(name)")
        }
    }

    /// config.json (as transformers writes it) and the tokenizer and sentence-transformers files agree with Python's.
    @Test(arguments: TinyFixture.variants)
    fileprivate func folderFilesMatchTheLibraries(_ variant: TinyFixture.Variant) throws {
        let folder = FixtureFolder()
        try variant.write(to: folder.url)
        for (path, expected) in variant.files {
            let written = try JSONValue(contentsOf: folder.url.appendingPathComponent(path))
            #expect(written.removing("transformers_version") == expected.removing("transformers_version"), "\(path)")
        }
        let expectedFiles = variant.task == "embedding"
            ? ["1_Pooling/config.json", "config.json", "modules.json", "sentence_bert_config.json", "tokenizer_config.json"]
            : ["config.json", "tokenizer_config.json"]
        #expect(variant.files.keys.sorted() == expectedFiles)
        let normalizeFolder = folder.url.appendingPathComponent("2_Normalize").path
        #expect(FileManager.default.fileExists(atPath: normalizeFolder) == (variant.normalize == true))
        let tokenizer = try JSONValue(contentsOf: folder.url.appendingPathComponent("tokenizer.json"))
        #expect(tokenizer == (try TinyFixture.load().tokenizerJSON))
    }

    @Test func splitMix64MatchesTheReferenceVectors() {
        var zero = SplitMix64(seed: 0)
        #expect([zero.next(), zero.next(), zero.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var generator = SplitMix64(seed: 1_234_567)
        #expect((0..<5).map { _ in generator.next() } == [
            6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
            4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
        ])
        var signed = SplitMix64(seed: 42)
        #expect((0..<1000).map { _ in signed.nextSigned() }.allSatisfy { $0 >= -1 && $0 < 1 })
    }

    @Test(arguments: ["F16", "BF16"])
    func halfPrecisionFoldersHoldRoundedWeights(dtype: String) throws {
        let task = TinyModel.Task.classification(labels: ["a", "b"])
        let folder = FixtureFolder()
        try TinyModel.write(to: folder.url, architecture: .distilbert, task: task, seed: 9, dtype: dtype)
        let weights = try SafeTensors(contentsOf: folder.url.appendingPathComponent("model.safetensors"))
        let tolerance: Float = dtype == "F16" ? 0x1p-11 : 0x1p-8
        for tensor in TinyModel.weights(architecture: .distilbert, task: task, seed: 9) {
            #expect(weights.dtype(of: tensor.name) == dtype)
            let read = try weights.floats(tensor.name, shape: tensor.shape).withUnsafeBufferPointer(Array.init)
            let worst = zip(read, tensor.values).map { abs($0 - $1) / max(abs($1), 0x1p-14) }.max() ?? 0
            #expect(worst <= tolerance, "\(tensor.name)")
        }
        let configuration = try JSONValue(contentsOf: folder.url.appendingPathComponent("config.json"))
        guard case .object(let members) = configuration else {
            Issue.record("config.json is not an object")
            return
        }
        #expect(members["dtype"] == .string(dtype == "F16" ? "float16" : "bfloat16"))
    }

    @Test func unknownDTypeIsRejected() {
        let folder = FixtureFolder()
        #expect(throws: ModelError.self) {
            try TinyModel.write(to: folder.url, architecture: .bert, task: .classification(labels: ["x"]), seed: 1, dtype: "F64")
        }
    }
}
