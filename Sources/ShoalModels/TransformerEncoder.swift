import ShoalTensor

/// A post-layer-norm transformer encoder (BERT, DistilBERT) computed without padding.
struct TransformerEncoder: Sendable {
    struct Embeddings: Sendable {
        let word: FloatTensor
        let position: FloatTensor
        let type: FloatTensor?
        let norm: LayerNormWeights
    }

    struct Layer: Sendable {
        let qkv: Linear
        let attentionOutput: Linear
        let attentionNorm: LayerNormWeights
        let intermediate: Linear
        let output: Linear
        let outputNorm: LayerNormWeights
    }

    let configuration: EncoderConfiguration
    let embeddings: Embeddings
    let layers: [Layer]

    /// Workspace slots of the forward pass.
    enum Slot: Int {
        case hidden, attended, qkv, context, intermediate, scratch, pooled, head0, head1
    }

    /// Bytes of parameters the encoder holds in memory (packed weights and memory-mapped tables).
    var parameterBytes: Int {
        let tables = [embeddings.word, embeddings.position, embeddings.type].compactMap { $0 }
            .reduce(0) { $0 + $1.count * 4 }
        let norms = (1 + 2 * layers.count) * 2 * configuration.hiddenSize * 4
        let dense = layers.reduce(0) { total, layer in
            total + [layer.qkv, layer.attentionOutput, layer.intermediate, layer.output].reduce(0) { $0 + $1.parameterBytes }
        }
        return tables + norms + dense
    }

    /// Activation floats a batch of `tokens` tokens needs, the scratch of attention excluded.
    func activationFloats(tokens: Int) -> Int {
        tokens * configuration.hiddenSize * 6 + tokens * configuration.intermediateSize
    }

    /// Runs the encoder over the batch in `workspace` (ids, positions, type ids, offsets filled in) and
    /// returns the last hidden state, `[tokens, hidden]`, valid until the workspace is next used.
    func forward(pool: OpaquePointer?, threads: Int, workspace: Workspace) throws(KernelError) -> UnsafeMutablePointer<Float> {
        let c = configuration
        let tokens = workspace.ids.count, hidden = c.hiddenSize
        let sequences = workspace.offsets.count - 1
        var maxLength = 0
        for s in 0..<sequences { maxLength = max(maxLength, Int(workspace.offsets[s + 1] - workspace.offsets[s])) }
        let x = workspace.buffer(Slot.hidden.rawValue, count: tokens * hidden)
        let y = workspace.buffer(Slot.attended.rawValue, count: tokens * hidden)
        let qkv = workspace.buffer(Slot.qkv.rawValue, count: tokens * hidden * 3)
        let context = workspace.buffer(Slot.context.rawValue, count: tokens * hidden)
        let intermediate = workspace.buffer(Slot.intermediate.rawValue, count: tokens * c.intermediateSize)
        let scratch = workspace.buffer(
            Slot.scratch.rawValue,
            count: Kernels.attentionScratch(maxLength: maxLength, headDimension: c.headDimension) * threads)

        workspace.ids.withUnsafeBufferPointer { ids in
            workspace.positions.withUnsafeBufferPointer { positions in
                workspace.typeIds.withUnsafeBufferPointer { typeIds in
                    Kernels.embed(
                        tokens: tokens, hidden: hidden, ids: ids.baseAddress!, positions: positions.baseAddress!,
                        typeIds: embeddings.type == nil ? nil : typeIds.baseAddress, word: embeddings.word.pointer,
                        position: embeddings.position.pointer, type: embeddings.type?.pointer,
                        gamma: embeddings.norm.gamma.pointer, beta: embeddings.norm.beta.pointer,
                        epsilon: c.layerNormEpsilon, output: x, pool: pool)
                }
            }
        }
        // Each head's queries, keys and values as contiguous matrices, where the GEMMs can write them so.
        let headMajor = c.headDimension % 32 == 0
        try workspace.offsets.withUnsafeBufferPointer { offsets throws(KernelError) in
            for layer in layers {
                try layer.qkv.apply(rows: tokens, input: x, output: qkv, blocks: headMajor ? c.headDimension : nil,
                                pool: pool)
                Kernels.attention(
                    sequences: sequences, offsets: offsets.baseAddress!, heads: c.heads, headDimension: c.headDimension,
                    qkv: qkv, headMajor: headMajor, context: context, scratch: scratch, provider: layer.qkv.provider,
                    pool: pool)
                try layer.attentionOutput.apply(rows: tokens, input: context, output: y, residual: x, pool: pool)
                Kernels.layerNorm(rows: tokens, width: hidden, x: y, gamma: layer.attentionNorm.gamma.pointer,
                                  beta: layer.attentionNorm.beta.pointer, epsilon: c.layerNormEpsilon, pool: pool)
                try layer.intermediate.apply(rows: tokens, input: y, output: intermediate, activation: c.activation, pool: pool)
                try layer.output.apply(rows: tokens, input: intermediate, output: x, residual: y, pool: pool)
                Kernels.layerNorm(rows: tokens, width: hidden, x: x, gamma: layer.outputNorm.gamma.pointer,
                                  beta: layer.outputNorm.beta.pointer, epsilon: c.layerNormEpsilon, pool: pool)
            }
        }
        return x
    }
}

/// Dense layers applied to the first token's vector, then a softmax over the labels.
struct ClassificationHead: Sendable {
    let layers: [(linear: Linear, activation: Activation)]
    let labels: [String]

    var parameterBytes: Int { layers.reduce(0) { $0 + $1.linear.parameterBytes } }
}
