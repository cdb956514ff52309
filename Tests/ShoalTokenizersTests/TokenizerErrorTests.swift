import Foundation
import ShoalTokenizers
import Testing

/// Loading fails with an error that names what is wrong, never with a crash.
@Suite struct TokenizerErrorTests {
    private func loadError(_ json: String) -> TokenizerError? {
        loadError(Data(json.utf8))
    }

    private func loadError(_ data: Data) -> TokenizerError? {
        do {
            _ = try Tokenizer(json: data)
            return nil
        } catch {
            return error
        }
    }

    @Test func malformedJSON() throws {
        let error = try #require(loadError("{\"model\": {"))
        guard case .malformedJSON = error else { Issue.record("got \(error)"); return }
        #expect(error.description.contains("malformed"))
    }

    @Test func missingModelSection() throws {
        let error = try #require(loadError(#"{"version": "1.0", "normalizer": null}"#))
        #expect(error == .missingSection("model"))
        #expect(error.description.contains("'model'"))
    }

    @Test func unsupportedModelType() throws {
        let error = try #require(loadError(#"{"model": {"type": "BPE", "vocab": {}, "merges": []}}"#))
        #expect(error == .unsupportedType(section: "model", type: "BPE", supported: ["WordPiece"]))
        #expect(error.description.contains("model of type 'BPE'"))
        #expect(error.description.contains("WordPiece"))
    }

    @Test(arguments: [
        ("normalizer", "Precompiled"), ("pre_tokenizer", "Metaspace"), ("post_processor", "ByteLevel"),
    ])
    func unsupportedSectionType(section: String, type: String) throws {
        let data = try Fixtures.modifiedMinilm { $0[section] = ["type": type] }
        let error = try #require(loadError(data))
        guard case .unsupportedType(section, type, _) = error else { Issue.record("got \(error)"); return }
        #expect(error.description.contains("\(section) of type '\(type)'"))
    }

    @Test func unknownTokenMissingFromVocabulary() throws {
        let error = try #require(loadError(#"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"a": 0}}}"#))
        guard case .invalidConfiguration = error else { Issue.record("got \(error)"); return }
        #expect(error.description.contains("'[UNK]' is not in the vocabulary"))
    }

    @Test func wrongFieldTypeNamesTheField() throws {
        let error = try #require(loadError(#"{"model": {"type": "WordPiece", "vocab": ["a", "b"]}}"#))
        guard case .malformedJSON = error else { Issue.record("got \(error)"); return }
        #expect(error.description.contains("'model.vocab'"))
    }

    @Test func templateWithUndefinedSpecialToken() throws {
        let data = try Fixtures.modifiedMinilm { json in
            json["post_processor"] = [
                "type": "TemplateProcessing",
                "single": [["SpecialToken": ["id": "<s>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                "special_tokens": [String: Any](),
            ]
        }
        let error = try #require(loadError(data))
        #expect(error.description.contains("'<s>'"))
    }

    @Test func unreadableFileNamesThePath() throws {
        let url = URL(fileURLWithPath: "/nonexistent/shoal/tokenizer.json")
        let error = try #require(throws: TokenizerError.self) { try Tokenizer(contentsOf: url) }
        guard case .unreadableFile(let path, _) = error else { Issue.record("got \(error)"); return }
        #expect(path == url.path)
        #expect(error.description.contains(url.path))
    }

    @Test func errorInFileNamesThePath() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-tokenizer-\(UUID()).json")
        try Data(#"{"model": {"type": "Unigram", "vocab": []}}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = try #require(throws: TokenizerError.self) { try Tokenizer(contentsOf: url) }
        #expect(error == .inFile(path: url.path, .unsupportedType(section: "model", type: "Unigram", supported: ["WordPiece"])))
        #expect(error.description.hasPrefix(url.path + ": "))
        #expect(error.description.contains("Unigram"))
    }
}
