import CBLAS

/// Which implementation multiplies activations by weights.
public enum GemmProvider: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The engine's own AVX-512 kernels on weights packed at load time (x86-64 with AVX-512 only).
    case native
    /// The system BLAS (OpenBLAS on Linux) on weights as stored.
    case blas

    /// The fastest provider this CPU runs: `native` where AVX-512 is present, `blas` elsewhere.
    public static var preferred: GemmProvider { ComputePool.hasNativeKernels ? .native : .blas }

    /// A short name with the BLAS core type when it matters.
    public var description: String { rawValue }

    /// Sets the thread count of the system BLAS (it keeps its own threads).
    public static func setBLASThreads(_ threads: Int) {
        openblas_set_num_threads(Int32(threads))
    }
}
