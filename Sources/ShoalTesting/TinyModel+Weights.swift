import ShoalTensor
extension TinyModel {
    /// Names and shapes of the model's tensors in generation order (Hugging Face names; linear weights are [out, in]).
    ///
    /// The order is the module order of the PyTorch model (its `state_dict` order): embeddings, then each layer,
    /// then the pooler (BertModel only) and the classification head. Classifiers prefix the encoder's names
    /// with `bert.` or `distilbert.`.
    public static func tensorLayout(architecture: Architecture, task: Task) -> [(name: String, shape: [Int])] {
        let prefix: String
        let head: [(name: String, shape: [Int])]
        switch (architecture, task) {
        case (_, .embedding):
            prefix = ""
            head = []
        case (.bert, .classification(let labels)):
            prefix = "bert."
            head = linear("classifier", out: labels.count, in: hiddenSize)
        case (.distilbert, .classification(let labels)):
            prefix = "distilbert."
            head = linear("pre_classifier", out: hiddenSize, in: hiddenSize)
                + linear("classifier", out: labels.count, in: hiddenSize)
        }
        let encoder = architecture == .bert ? bertEncoder : distilbertEncoder
        return encoder.map { (prefix + $0.name, $0.shape) } + head
    }

    /// The model's tensors with their values, reproducible from `seed` alone.
    ///
    /// One splitmix64 stream seeded with `seed` fills the tensors of `tensorLayout` in order, each row-major.
    /// Every value takes one draw, u = (next() >> 40) / 2^24 * 2 - 1 (uniform on [-1, 1)), computed in double
    /// precision and rounded to float32 at the end: LayerNorm weights are 1 + 0.5u, biases (including
    /// LayerNorm biases) 0.1u, every other tensor (embeddings and linear weights) 0.2u.
    public static func weights(architecture: Architecture, task: Task, seed: UInt64) -> [SafeTensorsWriter.Tensor] {
        var generator = SplitMix64(seed: seed)
        return tensorLayout(architecture: architecture, task: task).map { tensor in
            let (offset, scale) = initialisation(of: tensor.name)
            let count = tensor.shape.reduce(1, *)
            let values = (0..<count).map { _ in Float(offset + scale * generator.nextSigned()) }
            return (tensor.name, tensor.shape, values)
        }
    }

    /// Offset and scale applied to u for the tensor called `name`.
    private static func initialisation(of name: String) -> (offset: Double, scale: Double) {
        if name.hasSuffix("LayerNorm.weight") || name.hasSuffix("layer_norm.weight") { return (1, 0.5) }
        if name.hasSuffix(".bias") { return (0, 0.1) }
        return (0, 0.2)
    }

    private static func linear(_ name: String, out: Int, in input: Int) -> [(name: String, shape: [Int])] {
        [("\(name).weight", [out, input]), ("\(name).bias", [out])]
    }

    private static func norm(_ name: String) -> [(name: String, shape: [Int])] {
        [("\(name).weight", [hiddenSize]), ("\(name).bias", [hiddenSize])]
    }

    private static var bertEncoder: [(name: String, shape: [Int])] {
        let embeddings: [(name: String, shape: [Int])] = [
            ("embeddings.word_embeddings.weight", [TinyTokenizer.vocabulary.count, hiddenSize]),
            ("embeddings.position_embeddings.weight", [maxPositionEmbeddings, hiddenSize]),
            ("embeddings.token_type_embeddings.weight", [typeVocabularySize, hiddenSize]),
        ] + norm("embeddings.LayerNorm")
        let layers = (0..<layerCount).flatMap { index in
            let layer = "encoder.layer.\(index)"
            return linear("\(layer).attention.self.query", out: hiddenSize, in: hiddenSize)
                + linear("\(layer).attention.self.key", out: hiddenSize, in: hiddenSize)
                + linear("\(layer).attention.self.value", out: hiddenSize, in: hiddenSize)
                + linear("\(layer).attention.output.dense", out: hiddenSize, in: hiddenSize)
                + norm("\(layer).attention.output.LayerNorm")
                + linear("\(layer).intermediate.dense", out: intermediateSize, in: hiddenSize)
                + linear("\(layer).output.dense", out: hiddenSize, in: intermediateSize)
                + norm("\(layer).output.LayerNorm")
        }
        return embeddings + layers + linear("pooler.dense", out: hiddenSize, in: hiddenSize)
    }

    private static var distilbertEncoder: [(name: String, shape: [Int])] {
        let embeddings: [(name: String, shape: [Int])] = [
            ("embeddings.word_embeddings.weight", [TinyTokenizer.vocabulary.count, hiddenSize]),
            ("embeddings.position_embeddings.weight", [maxPositionEmbeddings, hiddenSize]),
        ] + norm("embeddings.LayerNorm")
        let layers = (0..<layerCount).flatMap { index in
            let layer = "transformer.layer.\(index)"
            return linear("\(layer).attention.q_lin", out: hiddenSize, in: hiddenSize)
                + linear("\(layer).attention.k_lin", out: hiddenSize, in: hiddenSize)
                + linear("\(layer).attention.v_lin", out: hiddenSize, in: hiddenSize)
                + linear("\(layer).attention.out_lin", out: hiddenSize, in: hiddenSize)
                + norm("\(layer).sa_layer_norm")
                + linear("\(layer).ffn.lin1", out: intermediateSize, in: hiddenSize)
                + linear("\(layer).ffn.lin2", out: hiddenSize, in: intermediateSize)
                + norm("\(layer).output_layer_norm")
        }
        return embeddings + layers
    }
}
