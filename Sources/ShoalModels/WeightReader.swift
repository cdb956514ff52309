import ShoalTensor

/// Reads a checkpoint's tensors under a name prefix (`bert.` in classifiers, none in bare encoders).
struct WeightReader: Sendable {
    let tensors: SafeTensors
    let prefix: String
    let provider: GemmProvider

    /// Picks the prefix under which `probe` exists: the first of `prefixes`, or none.
    init(tensors: SafeTensors, probe: String, prefixes: [String], provider: GemmProvider) {
        self.tensors = tensors
        self.provider = provider
        prefix = prefixes.first { tensors.shape(of: $0 + probe) != nil } ?? ""
    }

    func tensor(_ name: String, _ shape: [Int]) throws -> FloatTensor {
        try tensors.floats(prefix + name, shape: shape)
    }

    /// A tensor outside the prefix (classification heads sit beside the encoder).
    func unprefixed(_ name: String, _ shape: [Int]) throws -> FloatTensor {
        try tensors.floats(name, shape: shape)
    }

    /// A dense layer `name.weight` `[outputs, inputs]` with `name.bias`.
    func linear(_ name: String, outputs: Int, inputs: Int, prefixed: Bool = true) throws -> Linear {
        let read = prefixed ? tensor : unprefixed
        let weight = try read(name + ".weight", [outputs, inputs])
        let bias = try read(name + ".bias", [outputs])
        return withExtendedLifetime((weight, bias)) {
            Linear(weight: weight.pointer, bias: bias.pointer, outputs: outputs, inputs: inputs, provider: provider)
        }
    }

    /// Layer norm parameters, under `weight`/`bias` or the older `gamma`/`beta`.
    func norm(_ name: String, width: Int) throws -> LayerNormWeights {
        if tensors.shape(of: prefix + name + ".gamma") != nil {
            return LayerNormWeights(gamma: try tensor(name + ".gamma", [width]), beta: try tensor(name + ".beta", [width]))
        }
        return LayerNormWeights(gamma: try tensor(name + ".weight", [width]), beta: try tensor(name + ".bias", [width]))
    }

    /// The query, key and value projections fused into one layer; queries pre-scaled by 1/sqrt(head_dim).
    func fusedQKV(_ names: [String], hidden: Int, headDimension: Int) throws -> Linear {
        let parts = try names.map { name in
            (try tensor(name + ".weight", [hidden, hidden]), try tensor(name + ".bias", [hidden]))
        }
        let queryScale = 1 / Float(headDimension).squareRoot()
        return withExtendedLifetime(parts) {
            Linear(
                stacking: parts.enumerated().map { index, part in
                    (weight: part.0.pointer, bias: part.1.pointer, scale: index == 0 ? queryScale : 1)
                }, outputsEach: hidden, inputs: hidden, provider: provider)
        }
    }
}

/// Scale and shift of a layer normalisation.
struct LayerNormWeights: Sendable {
    let gamma: FloatTensor
    let beta: FloatTensor
}
