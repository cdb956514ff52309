import Foundation
import HummingbirdTesting
import ShoalInference
import ShoalServer
import Testing

/// The real Triton HTTP client (`tritonclient[http]`, which scripts/setup.sh installs) at its default settings —
/// texts sent as binary tensor data, outputs asked for as binary tensor data — through `scripts/kserve_client.py`,
/// against a server on loopback serving the real all-MiniLM-L6-v2 and a tiny classifier.
@Suite(.timeLimit(.minutes(3))) struct TritonClientTests {
    /// A short word, a sentence, and a paragraph of 200 words.
    static let texts: [String] = {
        let sentences = [
            "The river rose through the night and by morning the lower fields were under water.",
            "Farmers moved their animals to the hills while volunteers filled sandbags in the square.",
            "Nobody in the village could remember a flood like it, not even the oldest fishermen.",
            "When the rain finally stopped, the town council met to plan new walls along the banks.",
        ]
        let words = Array(repeating: sentences.joined(separator: " "), count: 4).joined(separator: " ").split(separator: " ")
        return ["hi", "A man is eating food.", words.prefix(200).joined(separator: " ")]
    }()

    @Test func defaultClientGetsTheEngineEmbeddings() async throws {
        let folder = try #require(RealModel.folder(), "all-MiniLM-L6-v2 is not installed; run scripts/setup.sh")
        let models = try TestModels()
        try FileManager.default.createSymbolicLink(at: models.root.appendingPathComponent("minilm"), withDestinationURL: folder)
        let server = try models.server()
        #expect(Self.texts[2].split(separator: " ").count == 200)
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            let answer = try await Self.runClient(port: port, model: "minilm", texts: Self.texts)
            #expect(answer["extensions"] as? [String] == ["binary_tensor_data", "model_repository"])
            // The engine itself, one text at a time: the reference the HTTP path must reproduce.
            var expected: [Float] = []
            for text in Self.texts {
                expected += try await server.inference.infer(model: "minilm", texts: [text]).outputs[0]
            }
            #expect(expected.count == 3 * 384)
            for mode in ["all", "named"] {
                let embedding = try #require((answer[mode] as? [String: Any])?["embedding"] as? [String: Any], "\(mode)")
                #expect(embedding["binary"] as? Bool == true, "\(mode)")
                #expect(embedding["datatype"] as? String == "float32", "\(mode)")
                #expect(embedding["shape"] as? [Int] == [3, 384], "\(mode)")
                let data = try #require(embedding["data"] as? [Double])
                #expect(data.count == expected.count)
                let difference = zip(data, expected).map { abs($0 - Double($1)) }.max() ?? .infinity
                // Tolerance: a batch of three changes only the order of float sums against one text at a time.
                #expect(difference <= 1e-5, "\(mode): largest difference \(difference)")
            }
        }
    }

    @Test func defaultClientGetsLabelsAsBinaryBytes() async throws {
        let models = try TestModels()
        try await models.withLiveServer { client in
            let port = try #require(client.port)
            let texts = ["good", "bad", "a longer text, with commas"]
            let answer = try await Self.runClient(port: port, model: "classify", texts: texts)
            let json = try await client.post("/v2/models/classify/infer", json: inferBody(texts))
            let outputs = try #require(try json.object()["outputs"] as? [[String: Any]])
            let probabilities = try #require(outputs[0]["data"] as? [Double])
            let labels = try #require(outputs[1]["data"] as? [String])
            for mode in ["all", "named"] {
                let tensors = try #require(answer[mode] as? [String: Any], "\(mode)")
                let label = try #require(tensors["label"] as? [String: Any])
                #expect(label["binary"] as? Bool == true)
                #expect(label["shape"] as? [Int] == [3])
                #expect(label["data"] as? [String] == labels, "\(mode)")
                let binary = try #require((tensors["probabilities"] as? [String: Any])?["data"] as? [Double])
                // The JSON path writes each float's shortest decimal that reads back as it: the same floats.
                #expect(binary.map { Float($0) } == probabilities.map { Float($0) }, "\(mode)")
            }
        }
    }

    /// Runs `scripts/kserve_client.py` on a Dispatch thread, leaving the cooperative pool to the server, and
    /// decodes what it prints.
    private static func runClient(port: Int, model: String, texts: [String]) async throws -> [String: Any] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/kserve_client.py")
        let arguments = [script.path, "127.0.0.1:\(port)", model, String(decoding: try JSONEncoder().encode(texts), as: UTF8.self)]
        let (status, output, error) = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runPython(arguments) })
            }
        }
        try #require(status == 0, "python3 \(arguments.joined(separator: " ")) (scripts/setup.sh installs tritonclient): \(error)")
        return try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
    }

    private static func runPython(_ arguments: [String]) throws -> (Int32, Data, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // The client prints little to stderr; stdout is drained first so that it cannot block the child.
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let error = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, printed, error)
    }
}
