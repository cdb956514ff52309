import Foundation
import ShoalModels
import ShoalTesting
import Testing

@Suite("Broken model folders fail with clear errors")
struct ModelErrorTests {
    func tinyFolder() throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        try TinyModel.write(to: folder.url, architecture: .bert, task: .embedding(pooling: .mean, normalize: true), seed: 1)
        return folder
    }

    func loadError(_ folder: URL) -> ModelError? {
        do {
            _ = try Model(folder: folder)
            return nil
        } catch {
            return error as? ModelError
        }
    }

    @Test("a truncated safetensors file")
    func truncated() throws {
        let folder = try tinyFolder()
        let weights = folder.child("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count - 100).write(to: weights)
        let error = try #require(loadError(folder.url))
        guard case .corruptSafeTensors(let path, let reason) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(path.hasSuffix("model.safetensors"))
        #expect(error.description.contains("corrupt safetensors"))
        #expect(!reason.isEmpty)
    }

    @Test("a corrupt safetensors header")
    func corruptHeader() throws {
        let folder = try tinyFolder()
        let weights = folder.child("model.safetensors")
        var data = try Data(contentsOf: weights)
        for i in 8..<40 { data[i] = UInt8(ascii: "#") }
        try data.write(to: weights)
        let error = try #require(loadError(folder.url))
        guard case .corruptSafeTensors = error else {
            Issue.record("unexpected \(error)")
            return
        }
    }

    @Test("a tensor of the wrong shape")
    func wrongShape() throws {
        let folder = try tinyFolder()
        var tensors = TinyModel.weights(architecture: .bert, task: .embedding(pooling: .mean, normalize: true), seed: 1)
        let index = try #require(tensors.firstIndex { $0.name == "encoder.layer.0.intermediate.dense.weight" })
        tensors[index].shape = [TinyModel.hiddenSize, TinyModel.intermediateSize]
        try SafeTensorsWriter.write(tensors, to: folder.child("model.safetensors"))
        let error = try #require(loadError(folder.url))
        #expect(error == .shapeMismatch(
            name: "encoder.layer.0.intermediate.dense.weight",
            expected: [TinyModel.intermediateSize, TinyModel.hiddenSize],
            actual: [TinyModel.hiddenSize, TinyModel.intermediateSize]))
    }

    @Test("a missing tensor")
    func missingTensor() throws {
        let folder = try tinyFolder()
        let tensors = TinyModel.weights(architecture: .bert, task: .embedding(pooling: .mean, normalize: true), seed: 1)
            .filter { $0.name != "encoder.layer.1.output.LayerNorm.bias" }
        try SafeTensorsWriter.write(tensors, to: folder.child("model.safetensors"))
        #expect(loadError(folder.url) == .missingTensor(name: "encoder.layer.1.output.LayerNorm.bias"))
    }

    @Test("a missing tokenizer")
    func missingTokenizer() throws {
        let folder = try tinyFolder()
        try FileManager.default.removeItem(at: folder.child("tokenizer.json"))
        let error = try #require(loadError(folder.url))
        #expect(error == .missingFile(path: folder.child("tokenizer.json").path))
        #expect(error.description.contains("tokenizer.json"))
    }

    @Test("a malformed tokenizer")
    func malformedTokenizer() throws {
        let folder = try tinyFolder()
        try Data("{\"model\": {\"type\": \"BPE\"}}".utf8).write(to: folder.child("tokenizer.json"))
        let error = try #require(loadError(folder.url))
        guard case .tokenizer(let path, _) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(path.hasSuffix("tokenizer.json"))
    }

    @Test("an unknown model_type names itself and the supported ones")
    func unknownModelType() throws {
        let folder = try tinyFolder()
        let config = folder.child("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
            .replacingOccurrences(of: "\"model_type\": \"bert\"", with: "\"model_type\": \"gpt2\"")
        try Data(text.utf8).write(to: config)
        let error = try #require(loadError(folder.url))
        #expect(error == .unsupportedModelType("gpt2", supported: ["bert", "distilbert"]))
        #expect(error.description.contains("gpt2") && error.description.contains("distilbert"))
    }

    @Test("a config.json without a required key names the key")
    func missingKey() throws {
        let folder = try tinyFolder()
        let config = folder.child("config.json")
        var object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
        object["num_attention_heads"] = nil
        try JSONSerialization.data(withJSONObject: object).write(to: config)
        let error = try #require(loadError(folder.url))
        #expect(error.description.contains("num_attention_heads"))
    }

    @Test("a folder with no config.json")
    func missingConfig() throws {
        let folder = try TemporaryFolder()
        #expect(loadError(folder.url) == .missingFile(path: folder.child("config.json").path))
    }
}
