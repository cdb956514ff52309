import ArgumentParser
import Foundation
import ShoalModels
import ShoalStore
import ShoalTensor

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the engine and the machine.",
        subcommands: [EngineBenchCommand.self, ColdStartBenchCommand.self])
}

struct EngineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Throughput, latency and GEMM efficiency of the engine on standard workloads.",
        discussion: """
            Workloads: b1_short (1 × ~12 tokens), b32_short (32 × ~12 tokens), b8_128tok (8 × ~128 tokens), \
            tokenization included. The machine's peak is measured first: the best of the GEMM providers this CPU \
            runs and of its vector units' fused multiply-adds on registers only.
            Example: shoal bench engine --model ./all-MiniLM-L6-v2 --threads 2
            """)

    @OptionGroup var engine: EngineOptions
    @Option(name: .long, help: "Seconds to run each workload.")
    var seconds: Double = 3
    @Option(name: .long, help: "Run only this workload (b1_short, b32_short, b8_128tok); repeat for several.")
    var workload: [String] = []
    @Flag(name: .long, help: """
        Print one JSON object {threads, gemm, cpu: {model, flags, isa, cpu_isa}, openblas_coretype (null \
        when unset), peak_gflops (the highest of the next two), peak_gflops_by_provider, vector_peak_gflops, \
        workloads: [...]}.
        """)
    var json = false

    struct Report: Codable {
        var threads: Int
        var gemm: String
        var cpu: CPUInfo
        var openblasCoretype: String?
        var peakGflops: Double
        var peakGflopsByProvider: [String: Double]
        var vectorPeakGflops: Double
        var workloads: [EngineBenchmark.Result]

        // Written out so that an unset OPENBLAS_CORETYPE appears as null instead of missing.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(threads, forKey: .threads)
            try container.encode(gemm, forKey: .gemm)
            try container.encode(cpu, forKey: .cpu)
            try container.encode(openblasCoretype, forKey: .openblasCoretype)
            try container.encode(peakGflops, forKey: .peakGflops)
            try container.encode(peakGflopsByProvider, forKey: .peakGflopsByProvider)
            try container.encode(vectorPeakGflops, forKey: .vectorPeakGflops)
            try container.encode(workloads, forKey: .workloads)
        }
    }

    func validate() throws {
        let known = Set(EngineBenchmark.workloadNames)
        if let unknown = workload.first(where: { !known.contains($0) }) {
            throw ValidationError(
                "unknown workload '\(unknown)'; the workloads are \(EngineBenchmark.workloadNames.joined(separator: ", "))")
        }
    }

    private func selectedWorkloads(of model: Model) -> [EngineBenchmark.Workload] {
        let all = EngineBenchmark.standardWorkloads(for: model)
        return workload.isEmpty ? all : all.filter { workload.contains($0.name) }
    }

    func run() throws {
        let (model, pool) = try engine.load()
        var peaks: [String: Double] = [:]
        for provider in GemmProvider.available {
            peaks[provider.rawValue] = try GemmPeak.measure(provider: provider, pool: pool)
        }
        let vector = GemmPeak.vectorCeiling(pool: pool)
        let peak = max(peaks.values.max() ?? 0, vector)
        let benchmark = EngineBenchmark(model: model, pool: pool, seconds: seconds)
        let results = try selectedWorkloads(of: model).map { try benchmark.measure($0, peakGFLOPs: peak) }
        let report = Report(
            threads: pool.threads, gemm: engine.gemm.rawValue, cpu: .current,
            openblasCoretype: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], peakGflops: peak,
            peakGflopsByProvider: peaks, vectorPeakGflops: vector, workloads: results)
        if json {
            print(String(decoding: try ShoalJSON.encoder(pretty: false).encode(report), as: UTF8.self))
            return
        }
        print("cpu \(report.cpu.model ?? "(unknown)"), kernels \(report.cpu.isa) (cpu \(report.cpu.cpuIsa))")
        print("threads \(report.threads), gemm \(report.gemm), OPENBLAS_CORETYPE=\(report.openblasCoretype ?? "(unset)")")
        let gemms = peaks.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", $0.value))" }
        print(String(format: "peak %.1f GFLOP/s: GEMM ", peak) + gemms.joined(separator: ", ")
            + String(format: "; vector FMA %.1f", vector))
        print("workload    batch  tok/seq  sent/s    tok/s     p50 ms  p99 ms  GFLOP/s  of peak")
        for r in results {
            print(String(format: "%-10@ %6d %8.1f %8.1f %9.0f %8.2f %7.2f %8.1f %7.0f%%",
                         r.workload as NSString, r.batch, r.tokensPerSequence, r.sentencesPerSecond, r.tokensPerSecond,
                         r.latencyP50Ms, r.latencyP99Ms, r.gflops, r.peakFraction * 100))
        }
    }
}
