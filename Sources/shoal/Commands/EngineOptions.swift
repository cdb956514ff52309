import ArgumentParser
import Foundation
import ShoalModels
import ShoalTensor

extension GemmProvider: ExpressibleByArgument {}

/// Options shared by the commands that load a model into the engine.
struct EngineOptions: ParsableArguments {
    @Option(name: .long, help: "A Hugging Face model folder (config.json, model.safetensors, tokenizer.json).")
    var model: String

    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "GEMM provider: native (AVX-512 kernels) or blas (default: the fastest this CPU runs).")
    var gemm: GemmProvider = .preferred

    @Option(name: .long, help: "Truncate inputs to at most this many tokens (default: the model's maximum).")
    var maxLength: Int?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if gemm == .native && !ComputePool.hasNativeKernels {
            throw ValidationError("--gemm native needs a CPU with AVX-512; use --gemm blas")
        }
    }

    /// Loads the model and starts the compute threads.
    func load() throws -> (Model, ComputePool) {
        GemmProvider.setBLASThreads(threads)
        do {
            let model = try Model(
                folder: URL(fileURLWithPath: model), options: ModelOptions(provider: gemm, maxSequenceLength: maxLength))
            return (model, ComputePool(threads: threads))
        } catch let error as ModelError {
            throw ValidationError(error.description)
        }
    }
}
