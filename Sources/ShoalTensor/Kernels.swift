import ShoalKernels

/// The encoder's per-token kernels, forwarded to their C implementations.
public enum Kernels {
    /// How sentence vectors are made from token vectors.
    public enum Pooling: Int32, Sendable {
        case mean = 0, cls = 1, max = 2
    }

    /// `out[t] = layerNorm(word[ids[t]] + position[positions[t]] + type[typeIds[t]])`.
    public static func embed(tokens: Int, hidden: Int, ids: UnsafePointer<Int32>, positions: UnsafePointer<Int32>,
                             typeIds: UnsafePointer<Int32>?, word: UnsafePointer<Float>, position: UnsafePointer<Float>,
                             type: UnsafePointer<Float>?, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                             epsilon: Float, output: UnsafeMutablePointer<Float>, pool: OpaquePointer?) {
        shoal_embed(pool, Int32(tokens), Int32(hidden), ids, positions, typeIds, word, position, type, gamma, beta,
                    epsilon, output)
    }

    /// Layer normalisation of each row of `x[rows, width]`, in place.
    public static func layerNorm(rows: Int, width: Int, x: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
                                 beta: UnsafePointer<Float>, epsilon: Float, pool: OpaquePointer?) {
        shoal_layer_norm(pool, Int32(rows), Int32(width), x, gamma, beta, epsilon)
    }

    /// Floats of scratch space one thread of `attention` needs.
    public static func attentionScratch(maxLength: Int, headDimension: Int) -> Int {
        shoal_attention_scratch_count(Int32(maxLength), Int32(headDimension))
    }

    /// Padding-free self-attention of every sequence of a batch; `offsets` has one more entry than sequences.
    /// `qkv` holds rows `[tokens, 3 · hidden]`, or with `headMajor` `3 · heads` matrices `[tokens, headDimension]`
    /// (every head's queries, then keys, then values: `Linear.apply` with `blocks: headDimension`), which lets
    /// each head read contiguous memory. With `provider` `.amx` the products run on AMX tiles in the precision
    /// of that GEMM, else in float32.
    public static func attention(sequences: Int, offsets: UnsafePointer<Int32>, heads: Int, headDimension: Int,
                                 qkv: UnsafePointer<Float>, headMajor: Bool = false,
                                 context: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                 provider: GemmProvider, pool: OpaquePointer?) {
        shoal_attention(pool, Int32(sequences), offsets, Int32(heads), Int32(headDimension), qkv, headMajor ? 1 : 0,
                        context, scratch, provider == .amx ? 1 : 0)
    }

    /// One vector per sequence from its token rows, optionally scaled to unit length.
    public static func poolTokens(sequences: Int, offsets: UnsafePointer<Int32>, hidden: Int, x: UnsafePointer<Float>,
                                  pooling: Pooling, normalize: Bool, output: UnsafeMutablePointer<Float>) {
        shoal_pool_tokens(Int32(sequences), offsets, Int32(hidden), x, pooling.rawValue, normalize ? 1 : 0, output)
    }

    /// Softmax of each row of `x[rows, width]`, in place.
    public static func softmaxRows(rows: Int, width: Int, x: UnsafeMutablePointer<Float>) {
        shoal_softmax_rows(Int32(rows), Int32(width), x)
    }

    /// Exact GELU, `x · Φ(x)`, as the kernels compute it.
    public static func gelu(_ x: Float) -> Float { shoal_gelu(x) }

    /// The error function as the kernels compute it.
    public static func erf(_ x: Float) -> Float { shoal_erf(x) }
}
