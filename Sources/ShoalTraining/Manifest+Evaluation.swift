import ShoalStore

extension Manifest.Evaluation {
    /// Scores predicted label indices against true ones, over `labels`.
    public init(truth: [Int], predicted: [Int], labels: [String]) {
        let count = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: count), count: count)
        for (t, p) in zip(truth, predicted) { confusion[t][p] += 1 }
        let correct = (0..<count).reduce(0) { $0 + confusion[$1][$1] }
        var scores: [LabelScores] = []
        var f1s: [Double] = []
        for label in 0..<count {
            let support = confusion[label].reduce(0, +)
            let predictedCount = confusion.reduce(0) { $0 + $1[label] }
            let hits = Double(confusion[label][label])
            let precision = predictedCount == 0 ? 0 : hits / Double(predictedCount)
            let recall = support == 0 ? 0 : hits / Double(support)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            scores.append(LabelScores(label: labels[label], precision: precision, recall: recall, f1: f1, support: support))
            // scikit-learn's macro average runs over the labels that occur as truth or prediction.
            if support > 0 || predictedCount > 0 { f1s.append(f1) }
        }
        self.init(rows: truth.count, accuracy: truth.isEmpty ? 0 : Double(correct) / Double(truth.count),
                  macroF1: f1s.isEmpty ? 0 : f1s.reduce(0, +) / Double(f1s.count), perLabel: scores, confusion: confusion)
    }
}
