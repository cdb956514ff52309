import Foundation
import ShoalKernels

/// The machine's peak: how many GFLOP/s a GEMM provider sustains on a large product, and the ceiling of
/// the vector units that runs float32 GEMMs.
public enum GemmPeak {
    /// GFLOP/s of fused multiply-adds on registers only, on all of `pool`'s threads: no float32 GEMM passes
    /// it (AMX tiles do, being another unit). 0 on CPUs without AVX2 and FMA.
    public static func vectorCeiling(pool: ComputePool, seconds: Double = 0.3) -> Double {
        pool.withPool { raw, _ in shoal_fma_peak(raw, seconds) }
    }

    /// GFLOP/s of `m × k · (n × k)ᵀ` on `pool`, best of `repetitions` timed runs of at least `seconds` each.
    public static func measure(provider: GemmProvider, pool: ComputePool, m: Int = 1024, n: Int = 1536, k: Int = 1024,
                               seconds: Double = 0.3, repetitions: Int = 3) throws -> Double {
        let a = AlignedBuffer(count: m * k), w = AlignedBuffer(count: n * k), c = AlignedBuffer(count: m * n)
        for i in 0..<(m * k) { a.pointer[i] = Float(i % 17) * 0.01 }
        for i in 0..<(n * k) { w.pointer[i] = Float(i % 13) * 0.01 }
        let linear = withExtendedLifetime(w) {
            Linear(weight: w.pointer, bias: nil, outputs: n, inputs: k, provider: provider)
        }
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        var best = 0.0
        try pool.withPool { raw, _ in
            try linear.apply(rows: m, input: a.pointer, output: c.pointer, pool: raw)
            for _ in 0..<repetitions {
                let start = DispatchTime.now().uptimeNanoseconds
                var runs = 0, elapsed = 0.0
                repeat {
                    try linear.apply(rows: m, input: a.pointer, output: c.pointer, pool: raw)
                    runs += 1
                    elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                } while elapsed < seconds
                best = max(best, flops * Double(runs) / elapsed / 1e9)
            }
        }
        return best
    }
}
