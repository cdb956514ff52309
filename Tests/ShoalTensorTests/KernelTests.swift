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

    @Test("attention without padding matches a naive reference for mixed lengths, in float32 and on AMX",
          arguments: [(4, 16), (2, 32), (12, 32), (3, 8), (2, 64), (1, 40)])
    func attention(heads: Int, headDimension: Int) {
        let lengths = [1, 7, 16, 17, 40, 70]
        let hidden = heads * headDimension, tokens = lengths.reduce(0, +)
        var offsets: [Int32] = [0]
        for length in lengths { offsets.append(offsets.last! + Int32(length)) }
        let qkv = pseudoRandom(tokens * 3 * hidden, seed: 11)
        // The same values as 3 · heads matrices [tokens, headDimension]: queries, keys, values of each head.
        let headMajor = (0..<qkv.count).map { index in
            let matrix = index / (tokens * headDimension), token = index / headDimension % tokens
            return qkv[token * 3 * hidden + matrix * headDimension + index % headDimension]
        }
        let expected = naiveAttention(qkv: qkv, lengths: lengths, heads: heads, headDimension: headDimension)
        for provider in GemmProvider.available where provider != .blas {
            for (threads, layout) in [(1, false), (2, false), (1, true), (2, true)] {
                var context = [Float](repeating: .nan, count: tokens * hidden)
                let perThread = Kernels.attentionScratch(maxLength: 70, headDimension: headDimension)
                var scratch = [Float](repeating: 0, count: perThread * threads)
                ComputePool(threads: threads).withPool { raw, _ in
                    Kernels.attention(
                        sequences: lengths.count, offsets: offsets, heads: heads, headDimension: headDimension,
                        qkv: layout ? headMajor : qkv, headMajor: layout, context: &context, scratch: &scratch,
                        provider: provider, pool: raw)
                }
                let worst = zip(context, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
                // bf16x3 products carry about 16 significant bits, float32 ones 24.
                #expect(worst < (provider == .amx ? 5e-5 : 1e-5),
                        "\(provider), threads \(threads), head-major \(layout): \(worst)")
            }
        }
    }

    /// Attention in double precision, one (sequence, head, query) at a time: the context rows, `[tokens, hidden]`.
    func naiveAttention(qkv: [Float], lengths: [Int], heads: Int, headDimension d: Int) -> [Double] {
        let hidden = heads * d
        var context = [Double](repeating: 0, count: lengths.reduce(0, +) * hidden)
        var start = 0
        for length in lengths {
            func row(_ token: Int, _ part: Int, _ head: Int) -> ArraySlice<Float> {
                let offset = (start + token) * 3 * hidden + part * hidden + head * d
                return qkv[offset..<(offset + d)]
            }
            for h in 0..<heads {
                for i in 0..<length {
                    let scores = (0..<length).map { j in
                        zip(row(i, 0, h), row(j, 1, h)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    }
                    let top = scores.max()!
                    let weights = scores.map { exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for j in 0..<length {
                        for (t, value) in row(j, 2, h).enumerated() {
                            context[(start + i) * hidden + h * d + t] += weights[j] / total * Double(value)
                        }
                    }
                }
            }
            start += length
        }
        return context
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
