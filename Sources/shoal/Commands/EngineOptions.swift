import ArgumentParser
import Foundation
import ShoalModels
import ShoalTensor

extension GemmProvider: ExpressibleByArgument {
    /// Refuses `gemm` when this CPU does not run it, and an engine environment (`SHOAL_ISA`, `SHOAL_GEMM`)
    /// that asks for what this CPU cannot run.
    static func validate(_ gemm: GemmProvider) throws {
        do {
            try validateEnvironment()
        } catch {
            throw ValidationError(error.description)
        }
        guard available.contains(gemm) else {
            let names = available.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--gemm \(gemm) does not run on this CPU; available: \(names)")
        }
    }
}

/// Options shared by the commands that load a model into the engine.
struct EngineOptions: ParsableArguments {
    @Option(name: .long, help: "A Hugging Face model folder (config.json, model.safetensors, tokenizer.json).")
    var model: String

    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "GEMM provider: amx (AMX bf16x3), native (Shoal's float32 kernels) or blas (default: SHOAL_GEMM, else the fastest this CPU runs).")
    var gemm: GemmProvider = .preferred

    @Option(name: .long, help: "Truncate inputs to at most this many tokens (default: the model's maximum).")
    var maxLength: Int?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        try GemmProvider.validate(gemm)
    }

    /// Loads the model and starts the compute threads.
    func load() throws -> (Model, ComputePool) {
        do {
            let model = try Model(
                folder: URL(fileURLWithPath: model), options: ModelOptions(provider: gemm, maxSequenceLength: maxLength))
            return (model, ComputePool(threads: threads))
        } catch let error as ModelError {
            throw ValidationError(error.description)
        }
    }
}
