import CBLAS
import Foundation
import ShoalTensor

/// Fits a head by full-batch L-BFGS on the weighted cross-entropy plus an L2 penalty on the weights, with
/// early stopping on the validation rows' loss.
///
/// The objective is scikit-learn's `LogisticRegression` (multinomial, lbfgs) divided by its `C · rows`: the
/// weighted mean cross-entropy plus `l2 / 2 · ‖W‖²`, biases unpenalised. The two large products of every
/// step (logits and the weights' gradient) run through BLAS; the optimiser keeps its vectors in double.
public struct HeadFitter: Sendable {
    public let settings: HeadSettings

    public init(settings: HeadSettings) {
        self.settings = settings
    }

    /// Fits `labels.count` classes on `train` (`targets` are label indices) and stops early on `validation`.
    public func fit(train: Matrix, targets: [Int], validation: Matrix, validationTargets: [Int], labels: [String]) -> FittedHead {
        let classes = labels.count
        var counts = [Int](repeating: 0, count: classes)
        for target in targets { counts[target] += 1 }
        let classWeight: [Double] = counts.map { count in
            settings.classWeights == .balanced && count > 0 ? Double(targets.count) / Double(classes * count) : 1
        }
        let objective = Objective(
            inputs: train, targets: targets, rowWeights: targets.map { classWeight[$0] }, classes: classes,
            hidden: settings.hiddenUnits, l2: settings.l2 ?? 1 / Double(max(1, train.rows)))
        let check = Objective(
            inputs: validation, targets: validationTargets, rowWeights: validationTargets.map { _ in 1 }, classes: classes,
            hidden: settings.hiddenUnits, l2: 0)
        var generator = SplitMix64(seed: settings.seed)
        var start = [Double](repeating: 0, count: objective.parameterCount)
        if settings.hiddenUnits > 0 {
            // Glorot-uniform weights, as a zero start would leave every hidden unit the same.
            let (inputs, hidden) = (train.columns, settings.hiddenUnits)
            let first = (6 / Double(inputs + hidden)).squareRoot(), second = (6 / Double(hidden + classes)).squareRoot()
            for i in 0..<(hidden * inputs) { start[i] = generator.nextSigned() * first }
            let offset = hidden * inputs + hidden
            for i in 0..<(classes * hidden) { start[offset + i] = generator.nextSigned() * second }
        }
        var optimiser = LBFGS(settings: settings)
        let (best, iterations, bestIteration) = optimiser.minimise(start: start, objective: { objective.lossAndGradient($0, gradient: $1) }) { parameters in
            validation.rows == 0 ? nil : check.lossAndGradient(parameters, gradient: false).loss
        }
        return objective.head(best, labels: labels, iterations: iterations, bestIteration: bestIteration)
    }
}

/// The loss of a head's parameters, flattened as [hidden W, hidden b,] W, b.
struct Objective: Sendable {
    let inputs: Matrix
    let targets: [Int]
    let rowWeights: [Double]
    let classes: Int
    let hidden: Int
    let l2: Double

    var parameterCount: Int {
        hidden > 0 ? hidden * inputs.columns + hidden + classes * hidden + classes : classes * inputs.columns + classes
    }

    /// The parameters as layers of a head.
    func head(_ parameters: [Double], labels: [String], iterations: Int, bestIteration: Int) -> FittedHead {
        let values = parameters.map(Float.init)
        var layers: [FittedHead.Layer] = []
        var offset = 0
        for (outputs, inputs) in shapes {
            let weight = Array(values[offset..<offset + outputs * inputs])
            offset += outputs * inputs
            let bias = Array(values[offset..<offset + outputs])
            offset += outputs
            layers.append(FittedHead.Layer(weight: weight, bias: bias, outputs: outputs, inputs: inputs))
        }
        return FittedHead(labels: labels, layers: layers, iterations: iterations, bestIteration: bestIteration)
    }

    /// (outputs, inputs) of each layer.
    private var shapes: [(Int, Int)] {
        hidden > 0 ? [(hidden, inputs.columns), (classes, hidden)] : [(classes, inputs.columns)]
    }

    /// The weighted mean cross-entropy plus the penalty, and its gradient unless `gradient` is false.
    func lossAndGradient(_ parameters: [Double], gradient: Bool = true) -> (loss: Double, gradient: [Double]) {
        let head = head(parameters, labels: [], iterations: 0, bestIteration: 0)
        let rows = inputs.rows
        var activations = [inputs]
        for (index, layer) in head.layers.enumerated() {
            var next = layer.weight.withUnsafeBufferPointer { weight in
                layer.bias.withUnsafeBufferPointer { bias in activations[index].affine(weight, bias: bias, outputs: layer.outputs) }
            }
            if index < head.layers.count - 1 { next.values = next.values.map { Foundation.tanh($0) } }
            activations.append(next)
        }
        // Softmax rows become the logits' gradient, (p − onehot) · w / Σw.
        var delta = activations.removeLast().values
        let totalWeight = max(rowWeights.reduce(0, +), .leastNonzeroMagnitude)
        var loss = 0.0
        for row in 0..<rows {
            let base = row * classes
            var maximum = -Float.infinity
            for c in 0..<classes { maximum = max(maximum, delta[base + c]) }
            var sum = 0.0
            for c in 0..<classes { sum += Double(Foundation.exp(delta[base + c] - maximum)) }
            let target = targets[row]
            loss += rowWeights[row] * (Double(maximum) + Foundation.log(sum) - Double(delta[base + target]))
            let scale = rowWeights[row] / totalWeight
            for c in 0..<classes {
                let probability = Double(Foundation.exp(delta[base + c] - maximum)) / sum
                delta[base + c] = Float(scale * (probability - (c == target ? 1 : 0)))
            }
        }
        loss /= totalWeight
        var penalty = 0.0
        for layer in head.layers { for value in layer.weight { penalty += Double(value) * Double(value) } }
        loss += l2 / 2 * penalty
        guard gradient else { return (loss, []) }

        var grads: [[Float]] = []
        for index in stride(from: head.layers.count - 1, through: 0, by: -1) {
            let layer = head.layers[index]
            let input = activations[index]
            var weightGradient = [Float](repeating: 0, count: layer.outputs * layer.inputs)
            delta.withUnsafeBufferPointer { d in
                input.values.withUnsafeBufferPointer { x in
                    weightGradient.withUnsafeMutableBufferPointer { g in
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(layer.outputs), Int32(layer.inputs), Int32(rows), 1,
                                    d.baseAddress, Int32(layer.outputs), x.baseAddress, Int32(layer.inputs), 0, g.baseAddress, Int32(layer.inputs))
                    }
                }
            }
            var biasGradient = [Float](repeating: 0, count: layer.outputs)
            for row in 0..<rows { for o in 0..<layer.outputs { biasGradient[o] += delta[row * layer.outputs + o] } }
            grads.insert(biasGradient, at: 0)
            grads.insert(weightGradient, at: 0)
            guard index > 0 else { break }
            // Back through the weights and the tanh of the layer below.
            var below = [Float](repeating: 0, count: rows * layer.inputs)
            delta.withUnsafeBufferPointer { d in
                layer.weight.withUnsafeBufferPointer { w in
                    below.withUnsafeMutableBufferPointer { b in
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(layer.inputs), Int32(layer.outputs), 1,
                                    d.baseAddress, Int32(layer.outputs), w.baseAddress, Int32(layer.inputs), 0, b.baseAddress, Int32(layer.inputs))
                    }
                }
            }
            for i in below.indices { below[i] *= 1 - input.values[i] * input.values[i] }
            delta = below
        }
        var flat = [Double]()
        flat.reserveCapacity(parameterCount)
        for (index, part) in grads.enumerated() {
            let isWeight = index % 2 == 0
            var offset = flat.count
            for value in part {
                flat.append(Double(value) + (isWeight ? l2 * parameters[offset] : 0))
                offset += 1
            }
        }
        return (loss, flat)
    }
}
