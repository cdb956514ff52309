import Foundation

/// A classifier head's weights: an optional tanh hidden layer, then a linear layer to one logit per label.
public struct FittedHead: Sendable, Equatable {
    /// One dense layer, `weight` `[outputs, inputs]` row-major.
    public struct Layer: Sendable, Equatable {
        public var weight: [Float]
        public var bias: [Float]
        public var outputs: Int
        public var inputs: Int
    }

    public var labels: [String]
    /// The hidden layer (tanh) first, when there is one; the last layer gives the logits.
    public var layers: [Layer]
    /// L-BFGS iterations run, and the one whose weights these are.
    public var iterations: Int
    public var bestIteration: Int

    /// Units of the hidden layer, 0 without one.
    public var hiddenUnits: Int { layers.count > 1 ? layers[0].outputs : 0 }

    /// Logits of every row of `inputs`, `[rows, labels]`.
    public func logits(_ inputs: Matrix) -> Matrix {
        var x = inputs
        for (index, layer) in layers.enumerated() {
            x = layer.weight.withUnsafeBufferPointer { weight in
                layer.bias.withUnsafeBufferPointer { bias in x.affine(weight, bias: bias, outputs: layer.outputs) }
            }
            if index < layers.count - 1 { x.values = x.values.map { Foundation.tanh($0) } }
        }
        return x
    }

    /// The index of the most likely label of every row.
    public func predict(_ inputs: Matrix) -> [Int] {
        let z = logits(inputs)
        return (0..<z.rows).map { row in
            let slice = z.values[row * z.columns..<(row + 1) * z.columns]
            return slice.indices.max { slice[$0] < slice[$1] }! - row * z.columns
        }
    }
}
