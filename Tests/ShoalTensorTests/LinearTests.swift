import Foundation
import ShoalTensor
import Testing

/// Deterministic values in [-1, 1).
func pseudoRandom(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }
}

func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

@Suite("Linear layers")
struct LinearTests {
    static var providers: [GemmProvider] { GemmProvider.available }

    /// Reference `act(x · Wᵀ + b + r)` in double precision.
    func reference(_ x: [Float], _ w: [Float], _ b: [Float], _ r: [Float]?, m: Int, n: Int, k: Int,
                   activation: Activation) -> [Double] {
        (0..<(m * n)).map { index in
            let i = index / n, j = index % n
            var sum = Double(b[j]) + Double(r?[index] ?? 0)
            for p in 0..<k { sum += Double(x[i * k + p]) * Double(w[j * k + p]) }
            switch activation {
            case .none: return sum
            case .gelu: return gelu(sum)
            case .relu: return max(sum, 0)
            case .tanh: return tanh(sum)
            }
        }
    }

    @Test("matches a double-precision reference for odd shapes, every epilogue and thread count",
          arguments: providers, [1, 2, 3])
    func matchesReference(provider: GemmProvider, threads: Int) throws {
        let pool = ComputePool(threads: threads)
        for (m, n, k) in [(1, 1, 1), (5, 33, 7), (13, 70, 64), (16, 48, 130), (40, 96, 200), (100, 31, 385)] {
            let x = pseudoRandom(m * k, seed: 1), w = pseudoRandom(n * k, seed: 2)
            let b = pseudoRandom(n, seed: 3), r = pseudoRandom(m * n, seed: 4)
            let layer = Linear(weight: w, bias: b, outputs: n, inputs: k, provider: provider)
            for activation in [Activation.none, .gelu, .relu, .tanh] {
                for residual in [nil, r] {
                    var out = [Float](repeating: .nan, count: m * n)
                    try pool.withPool { raw, _ in
                        try x.withUnsafeBufferPointer { xp in
                            try residual.withOptionalPointer { rp in
                                try layer.apply(rows: m, input: xp.baseAddress!, output: &out, residual: rp,
                                            activation: activation, pool: raw)
                            }
                        }
                    }
                    let expected = reference(x, w, b, residual, m: m, n: n, k: k, activation: activation)
                    let worst = zip(out, expected).map { abs(Double($0) - $1) }.max() ?? 0
                    #expect(worst < 1e-4 * Double(k).squareRoot(), "m \(m) n \(n) k \(k) \(activation): \(worst)")
                }
            }
        }
    }

    @Test("batched rows equal rows computed one at a time", arguments: providers)
    func batchedEqualsSingle(provider: GemmProvider) throws {
        let pool = ComputePool(threads: 2)
        let (m, n, k) = (37, 64, 96)
        let x = pseudoRandom(m * k, seed: 5), w = pseudoRandom(n * k, seed: 6), b = pseudoRandom(n, seed: 7)
        let layer = Linear(weight: w, bias: b, outputs: n, inputs: k, provider: provider)
        var all = [Float](repeating: 0, count: m * n)
        var single = [Float](repeating: 0, count: n)
        try pool.withPool { raw, _ in
            try x.withUnsafeBufferPointer { xp in
                try layer.apply(rows: m, input: xp.baseAddress!, output: &all, pool: raw)
                for i in 0..<m {
                    try layer.apply(rows: 1, input: xp.baseAddress! + i * k, output: &single, pool: raw)
                    let worst = (0..<n).map { abs(single[$0] - all[i * n + $0]) }.max() ?? 0
                    #expect(worst <= 1e-5, "row \(i): \(worst)")
                }
            }
        }
    }
}

extension LinearTests {
    /// `amx` and `native` compute each output column block with the same micro-kernel in both layouts, so
    /// the two agree bit for bit. `blas` makes one OpenBLAS call per block in one layout and per 64 columns
    /// in the other; OpenBLAS picks its kernel and summation order by shape, so the sums may round
    /// differently: by at most a few float32 ulps of the sum of |x·w| terms, which 1e-5 bounds here
    /// (k ≤ 96 terms of magnitude ≤ 1, relative rounding 2^-24 each, then GELU, whose slope is below 1.2).
    @Test("output in column blocks holds the row-major output, block by block (bit for bit on packed weights)",
          arguments: providers, [1, 2])
    func columnBlocks(provider: GemmProvider, threads: Int) throws {
        let pool = ComputePool(threads: threads)
        // One row (the one-block path), a block and a half, and many blocks with a partial last one.
        for (m, n, k, block) in [(1, 96, 40, 32), (24, 128, 64, 64), (70, 192, 96, 32)] {
            let x = pseudoRandom(m * k, seed: 8), w = pseudoRandom(n * k, seed: 9), b = pseudoRandom(n, seed: 10)
            let layer = Linear(weight: w, bias: b, outputs: n, inputs: k, provider: provider)
            var rows = [Float](repeating: .nan, count: m * n), blocked = [Float](repeating: .nan, count: m * n)
            try pool.withPool { raw, _ in
                try x.withUnsafeBufferPointer { xp in
                    try layer.apply(rows: m, input: xp.baseAddress!, output: &rows, activation: .gelu, pool: raw)
                    try layer.apply(rows: m, input: xp.baseAddress!, output: &blocked, activation: .gelu, blocks: block,
                                pool: raw)
                }
            }
            let rearranged = (0..<(m * n)).map { index in
                let i = index / n, j = index % n
                return blocked[((j / block) * m + i) * block + j % block]
            }
            if provider == .blas {
                let worst = zip(rearranged, rows).map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst <= 1e-5, "m \(m) n \(n) k \(k) block \(block): \(worst)")
            } else {
                #expect(rearranged == rows, "m \(m) n \(n) k \(k) block \(block)")
            }
        }
    }
}

extension Optional where Wrapped == [Float] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        guard let array = self else { return try body(nil) }
        return try array.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
}
