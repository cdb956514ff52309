import ShoalTensor

/// The arithmetic a model is imported, profiled and served with.
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// float32 throughout (Shoal's `native` kernels, or the system BLAS).
    case fp32
    /// AMX tiles in bf16x3: float32 operands split into two bf16 parts (about 1e-5 relative error).
    case bf16x3

    /// The GEMM provider of this precision: the preferred one (`SHOAL_GEMM` included) when it computes in this
    /// precision, else the fastest of it that the CPU runs; `nil` when it runs none.
    public var provider: GemmProvider? {
        let available = GemmProvider.available, preferred = GemmProvider.preferred
        switch self {
        case .fp32: return preferred == .amx ? available.first { $0 != .amx } : preferred
        case .bf16x3: return available.contains(.amx) ? .amx : nil
        }
    }

    /// The precision a provider computes in.
    public init(provider: GemmProvider) {
        self = provider == .amx ? .bf16x3 : .fp32
    }

    /// The precisions this CPU can run, fastest first.
    public static var available: [Precision] {
        allCases.filter { $0.provider != nil }.sorted { a, _ in a == .bf16x3 }
    }
}
