import Foundation
import ShoalStore
import ShoalTensor
import Testing
@testable import ShoalTraining

/// The fitting math on synthetic embeddings, no encoder involved.
struct HeadFitterTests {
    /// Rows of `clusters` labels around distinct centres in `dimensions` dimensions, `perLabel` rows each.
    static func clusters(_ centres: [[Float]], perLabel: [Int], spread: Float, seed: UInt64) -> (Matrix, [Int]) {
        var generator = SplitMix64(seed: seed)
        var values: [Float] = []
        var targets: [Int] = []
        for (label, centre) in centres.enumerated() {
            for _ in 0..<perLabel[label] {
                values += centre.map { $0 + spread * Float(generator.nextSigned()) }
                targets.append(label)
            }
        }
        return (Matrix(rows: targets.count, columns: centres[0].count, values: values), targets)
    }

    static let centres: [[Float]] = [[1, 0, 0, 0, 0.5, 0], [0, 1, 0, 0, 0, 0.5], [0, 0, 1, 0.5, 0, 0]]

    @Test func separableClustersAreLearnedExactly() {
        let (train, targets) = Self.clusters(Self.centres, perLabel: [40, 40, 40], spread: 0.3, seed: 1)
        let (validation, validationTargets) = Self.clusters(Self.centres, perLabel: [10, 10, 10], spread: 0.3, seed: 2)
        let head = HeadFitter(settings: HeadSettings()).fit(
            train: train, targets: targets, validation: validation, validationTargets: validationTargets, labels: ["a", "b", "c"])
        let scores = Manifest.Evaluation(truth: validationTargets, predicted: head.predict(validation), labels: ["a", "b", "c"])
        #expect(scores.accuracy == 1 && scores.macroF1 == 1, "\(scores)")
        #expect(scores.confusion == [[10, 0, 0], [0, 10, 0], [0, 0, 10]])
        #expect(head.layers.count == 1 && head.layers[0].outputs == 3 && head.layers[0].inputs == 6)
    }

    /// The gradient the fit descends is the loss's: central differences agree to 1e-3 relative, with a hidden layer too.
    @Test(arguments: [0, 3]) func theGradientMatchesFiniteDifferences(hidden: Int) {
        let (inputs, targets) = Self.clusters(Self.centres, perLabel: [5, 3, 4], spread: 0.5, seed: 3)
        let objective = Objective(inputs: inputs, targets: targets, rowWeights: targets.map { $0 == 1 ? 2 : 1 }, classes: 3,
                                  hidden: hidden, l2: 0.05)
        var generator = SplitMix64(seed: 9)
        let parameters = (0..<objective.parameterCount).map { _ in generator.nextSigned() * 0.5 }
        let gradient = objective.lossAndGradient(parameters).gradient
        for index in stride(from: 0, to: parameters.count, by: max(1, parameters.count / 12)) {
            var up = parameters, down = parameters
            up[index] += 1e-2
            down[index] -= 1e-2
            let numeric = (objective.lossAndGradient(up, gradient: false).loss - objective.lossAndGradient(down, gradient: false).loss) / 2e-2
            #expect(abs(numeric - gradient[index]) <= 1e-3 * max(1, abs(numeric)) + 2e-3, "parameter \(index): \(numeric) vs \(gradient[index])")
        }
    }

    /// On 95:5 data whose classes overlap, balanced weights recall more of the rare label than equal weights.
    @Test func balancedClassWeightsFavourTheRareLabel() {
        let centres: [[Float]] = [[0, 0], [0.6, 0]]
        let (train, targets) = Self.clusters(centres, perLabel: [380, 20], spread: 1, seed: 4)
        let (validation, validationTargets) = Self.clusters(centres, perLabel: [95, 50], spread: 1, seed: 5)
        var recalls: [HeadSettings.ClassWeights: Double] = [:]
        for weights in HeadSettings.ClassWeights.allCases {
            var settings = HeadSettings()
            settings.classWeights = weights
            let head = HeadFitter(settings: settings).fit(
                train: train, targets: targets, validation: validation, validationTargets: validationTargets, labels: ["common", "rare"])
            recalls[weights] = Manifest.Evaluation(truth: validationTargets, predicted: head.predict(validation), labels: ["common", "rare"])
                .perLabel[1].recall
        }
        #expect(recalls[.none]! < 0.2, "\(recalls)")
        #expect(recalls[.balanced]! > recalls[.none]! + 0.3, "\(recalls)")
    }

    /// XOR is beyond a linear head; a hidden layer learns it. The same seed gives the same weights, another seed others.
    @Test func aHiddenLayerLearnsXORDeterministically() {
        let corners: [[Float]] = [[0, 0], [1, 1], [0, 1], [1, 0]]
        let (inputs, corner) = Self.clusters(corners, perLabel: [30, 30, 30, 30], spread: 0.15, seed: 6)
        let targets = corner.map { $0 < 2 ? 0 : 1 }
        func fit(hidden: Int, seed: UInt64) -> FittedHead {
            var settings = HeadSettings()
            settings.hiddenUnits = hidden
            settings.seed = seed
            settings.l2 = 1e-4
            return HeadFitter(settings: settings).fit(train: inputs, targets: targets, validation: inputs, validationTargets: targets,
                                                      labels: ["same", "different"])
        }
        let accuracy = { (head: FittedHead) in
            Manifest.Evaluation(truth: targets, predicted: head.predict(inputs), labels: ["same", "different"]).accuracy
        }
        #expect(accuracy(fit(hidden: 0, seed: 1)) < 0.8)
        let hidden = fit(hidden: 8, seed: 1)
        #expect(accuracy(hidden) > 0.97)
        #expect(fit(hidden: 8, seed: 1) == hidden)
        #expect(fit(hidden: 8, seed: 2).layers != hidden.layers)
    }

    @Test func theSplitIsStratifiedAndSeeded() {
        let labels = Array(repeating: 0, count: 50) + Array(repeating: 1, count: 10) + [2]
        let split = StratifiedSplit(labels: labels, fraction: 0.2, seed: 3)
        #expect(split.validation.filter { labels[$0] == 0 }.count == 10)
        #expect(split.validation.filter { labels[$0] == 1 }.count == 2)
        #expect(!split.validation.contains(60), "a label's only row stays in training")
        #expect(Set(split.train).union(split.validation) == Set(labels.indices) && Set(split.train).isDisjoint(with: split.validation))
        #expect(StratifiedSplit(labels: labels, fraction: 0.2, seed: 3) == split)
        #expect(StratifiedSplit(labels: labels, fraction: 0.2, seed: 4) != split)
    }
}
