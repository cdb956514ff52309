import Foundation
import ShoalTensor
import Testing

@Suite("Encoder kernels")
struct KernelTests {
    @Test("erf and GELU stay within 1e-6 of the C library over [-6, 6]")
    func erfAndGelu() {
        var worstErf = 0.0, worstGelu = 0.0
        for step in -6000...6000 {
            let x = Double(step) / 1000
            worstErf = max(worstErf, abs(Double(Kernels.erf(Float(x))) - erf(x)))
            worstGelu = max(worstGelu, abs(Double(Kernels.gelu(Float(x))) - gelu(x)))
        }
        #expect(worstErf < 1e-6)
        #expect(worstGelu < 1e-5)
    }

    @Test("layer norm gives zero mean and unit variance before scale and shift", arguments: [1, 2])
    func layerNorm(threads: Int) {
        let pool = ComputePool(threads: threads)
        let rows = 35, width = 50
        var x = pseudoRandom(rows * width, seed: 9).map { $0 * 3 + 1 }
        let gamma = [Float](repeating: 1, count: width), beta = [Float](repeating: 0, count: width)
        pool.withPool { raw, _ in
            Kernels.layerNorm(rows: rows, width: width, x: &x, gamma: gamma, beta: beta, epsilon: 1e-12, pool: raw)
        }
        for r in 0..<rows {
            let row = x[(r * width)..<((r + 1) * width)].map(Double.init)
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            #expect(abs(mean) < 1e-5)
            #expect(abs(variance - 1) < 1e-4)
        }
    }

    @Test("attention without padding matches a naive reference for mixed lengths",
          arguments: [(4, 16), (2, 32), (12, 32), (3, 8), (2, 64)])
    func attention(heads: Int, headDimension: Int) {
        let lengths = [1, 7, 16, 17, 40]
        let hidden = heads * headDimension, tokens = lengths.reduce(0, +)
        var offsets: [Int32] = [0]
        for length in lengths { offsets.append(offsets.last! + Int32(length)) }
        let qkv = pseudoRandom(tokens * 3 * hidden, seed: 11)
        var context = [Float](repeating: .nan, count: tokens * hidden)
        for threads in [1, 2] {
            let pool = ComputePool(threads: threads)
            var scratch = [Float](
                repeating: 0, count: Kernels.attentionScratch(maxLength: 40, headDimension: headDimension) * threads)
            pool.withPool { raw, _ in
                Kernels.attention(sequences: lengths.count, offsets: offsets, heads: heads, headDimension: headDimension,
                                  qkv: qkv, context: &context, scratch: &scratch, pool: raw)
            }
            var worst = 0.0
            for (s, length) in lengths.enumerated() {
                let start = Int(offsets[s])
                for h in 0..<heads {
                    for i in 0..<length {
                        let q = (start + i) * 3 * hidden + h * headDimension
                        let scores = (0..<length).map { j -> Double in
                            let k = (start + j) * 3 * hidden + hidden + h * headDimension
                            return (0..<headDimension).reduce(0.0) { $0 + Double(qkv[q + $1]) * Double(qkv[k + $1]) }
                        }
                        let top = scores.max()!
                        let weights = scores.map { exp($0 - top) }
                        let total = weights.reduce(0, +)
                        for d in 0..<headDimension {
                            let expected = (0..<length).reduce(0.0) { sum, j in
                                sum + weights[j] / total * Double(qkv[(start + j) * 3 * hidden + 2 * hidden + h * headDimension + d])
                            }
                            worst = max(worst, abs(expected - Double(context[(start + i) * hidden + h * headDimension + d])))
                        }
                    }
                }
            }
            #expect(worst < 1e-5, "threads \(threads): \(worst)")
        }
    }

    @Test("mean, cls and max pooling with normalisation")
    func pooling() {
        let x: [Float] = [1, 2, 3, 4, /* seq 2 */ 5, 6, 7, 8, 9, 10]
        let offsets: [Int32] = [0, 2, 5]
        var out = [Float](repeating: 0, count: 4)
        Kernels.poolTokens(sequences: 2, offsets: offsets, hidden: 2, x: x, pooling: .mean, normalize: false, output: &out)
        #expect(out == [2, 3, 7, 8])
        Kernels.poolTokens(sequences: 2, offsets: offsets, hidden: 2, x: x, pooling: .cls, normalize: false, output: &out)
        #expect(out == [1, 2, 5, 6])
        Kernels.poolTokens(sequences: 2, offsets: offsets, hidden: 2, x: x, pooling: .max, normalize: false, output: &out)
        #expect(out == [3, 4, 9, 10])
        Kernels.poolTokens(sequences: 2, offsets: offsets, hidden: 2, x: x, pooling: .cls, normalize: true, output: &out)
        #expect(abs(out[0] * out[0] + out[1] * out[1] - 1) < 1e-6)
    }
}
