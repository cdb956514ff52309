import CBLAS
import Foundation
import ShoalKernels

/// Which implementation multiplies activations by weights.
public enum GemmProvider: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Intel AMX tiles in bf16x3 precision (about 1e-5 relative error) on weights packed at load time.
    case amx
    /// The engine's own float32 kernels on weights packed at load time, at the instruction-set level of
    /// `InstructionSet.current`: AVX-512, AVX2 + FMA, or portable C on every other CPU.
    case native
    /// The system BLAS (OpenBLAS on Linux) on weights as stored.
    case blas

    /// The environment variable that forces the provider (`amx`, `native` or `blas`).
    public static let environmentKey = "SHOAL_GEMM"

    /// The provider a model uses unless told otherwise: the one `SHOAL_GEMM` names, else the fastest this
    /// CPU runs: `amx` where AMX is present, then `native` where the kernels have AVX-512 or AVX2 + FMA,
    /// else `blas`, whose own kernels beat the portable ones.
    public static var preferred: GemmProvider {
        if let forced = try? forced() { return forced }
        if shoal_has_amx() != 0 { return .amx }
        return InstructionSet.current == .generic ? .blas : .native
    }

    /// The providers this CPU runs, fastest first.
    public static var available: [GemmProvider] {
        (shoal_has_amx() != 0 ? [.amx] : []) + (InstructionSet.current == .generic ? [.blas, .native] : [.native, .blas])
    }

    /// The provider `SHOAL_GEMM` names, nil when it is unset; throws when it names none this CPU runs.
    public static func forced() throws(EnvironmentError) -> GemmProvider? {
        guard let value = ProcessInfo.processInfo.environment[environmentKey], !value.isEmpty else { return nil }
        guard let provider = GemmProvider(rawValue: value), available.contains(provider) else {
            throw EnvironmentError(
                "\(environmentKey)=\(value) names no GEMM provider this CPU runs; it runs "
                    + available.map(\.rawValue).joined(separator: ", "))
        }
        return provider
    }

    /// Throws when `SHOAL_ISA` or `SHOAL_GEMM` asks for what this CPU cannot run; a command checks this
    /// before it starts, since the engine would otherwise ignore the setting.
    public static func validateEnvironment() throws(EnvironmentError) {
        try InstructionSet.validateEnvironment()
        _ = try forced()
    }

    /// The provider's name, as `--gemm` takes it.
    public var description: String { rawValue }

    /// Sets the thread count of the system BLAS (it keeps its own threads).
    static func setBLASThreads(_ threads: Int) {
        openblas_set_num_threads(Int32(threads))
    }
}

/// The instruction-set level the engine's own kernels run at.
public enum InstructionSet: String, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// Portable C, no intrinsics (what every CPU runs; compilers vectorise it for the target).
    case generic
    /// AVX2 with fused multiply-add, 8 floats per vector.
    case avx2
    /// AVX-512 F/DQ/BW/VL, 16 floats per vector.
    case avx512

    /// The environment variable that lowers the level (`generic`, `avx2` or `avx512`).
    public static let environmentKey = "SHOAL_ISA"

    /// The level the kernels run at: the CPU's, lowered by `SHOAL_ISA`.
    public static var current: InstructionSet { InstructionSet(level: shoal_isa()) }

    /// The highest level this CPU has.
    public static var cpu: InstructionSet { InstructionSet(level: shoal_cpu_isa()) }

    /// Throws when `SHOAL_ISA` is set to a name that is not a level, or to one above the CPU's.
    static func validateEnvironment() throws(EnvironmentError) {
        guard let value = ProcessInfo.processInfo.environment[environmentKey], !value.isEmpty else { return }
        guard let level = InstructionSet(rawValue: value), level <= cpu else {
            let levels = allCases.filter { $0 <= cpu }.map(\.rawValue).joined(separator: ", ")
            throw EnvironmentError("\(environmentKey)=\(value) names no instruction-set level this CPU has; it has \(levels)")
        }
    }

    init(level: Int32) {
        self = Self.allCases.first { $0.level == level } ?? .generic
    }

    /// The level's number in the kernels (`shoal_isa_level`).
    private var level: Int32 {
        switch self {
        case .generic: 0
        case .avx2: 1
        case .avx512: 2
        }
    }

    public static func < (lhs: InstructionSet, rhs: InstructionSet) -> Bool { lhs.level < rhs.level }

    public var description: String { rawValue }
}

/// A setting of the engine's environment that cannot be honoured.
public struct EnvironmentError: Error, CustomStringConvertible, Equatable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
