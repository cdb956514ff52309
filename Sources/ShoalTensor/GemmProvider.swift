import CBLAS
import ShoalKernels

/// Which implementation multiplies activations by weights.
public enum GemmProvider: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Intel AMX tiles in bf16x3 precision (about 1e-5 relative error) on weights packed at load time.
    case amx
    /// The engine's own float32 AVX-512 kernels on weights packed at load time (x86-64 with AVX-512 only).
    case native
    /// The system BLAS (OpenBLAS on Linux) on weights as stored.
    case blas

    /// The fastest provider this CPU runs: `amx` where AMX is present, then `native` where AVX-512 is, else `blas`.
    public static var preferred: GemmProvider { available[0] }

    /// The providers this CPU runs, fastest first.
    public static var available: [GemmProvider] {
        (shoal_has_amx() != 0 ? [.amx] : []) + (ComputePool.hasNativeKernels ? [.native] : []) + [.blas]
    }

    /// The provider's name, as `--gemm` takes it.
    public var description: String { rawValue }

    /// Sets the thread count of the system BLAS (it keeps its own threads).
    static func setBLASThreads(_ threads: Int) {
        openblas_set_num_threads(Int32(threads))
    }
}
