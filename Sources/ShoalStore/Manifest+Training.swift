import Foundation

extension Manifest {
    /// What `shoal train` records of a head it trained: the data, the settings and the evaluation.
    public struct Training: Codable, Sendable, Equatable {
        /// sha256 of the training data file's bytes.
        public var dataDigest: String
        /// sha256 of the validation file's bytes, when validation rows came from a file of their own.
        public var validationDigest: String?
        /// The value of the grouping column this head was trained for, with `--group-by`.
        public var group: String?
        /// Rows the head was fitted on.
        public var trainRows: Int
        /// Rows early stopping and the validation metrics used.
        public var validationRows: Int
        /// The seed of the split and of the initial weights.
        public var seed: UInt64
        /// The L2 penalty on the weights, per row (scikit-learn's 1/(C·rows)).
        public var l2: Double
        /// Units of the hidden layer; 0 for a linear head (multinomial logistic regression).
        public var hiddenUnits: Int
        /// `none` or `balanced` (each class weighted by rows / (classes × its rows)).
        public var classWeights: String
        /// Optimiser iterations run, and the one whose weights were kept.
        public var iterations: Int
        public var bestIteration: Int
        /// Seconds spent fitting (embedding excluded).
        public var fitSeconds: Double
        /// Metrics on the validation rows.
        public var validation: Evaluation
        /// Metrics on the held-out test file, with `--test`.
        public var test: Evaluation?

        public init(dataDigest: String, validationDigest: String?, group: String?, trainRows: Int, validationRows: Int,
                    seed: UInt64, l2: Double, hiddenUnits: Int, classWeights: String, iterations: Int, bestIteration: Int,
                    fitSeconds: Double, validation: Evaluation, test: Evaluation?) {
            self.dataDigest = dataDigest
            self.validationDigest = validationDigest
            self.group = group
            self.trainRows = trainRows
            self.validationRows = validationRows
            self.seed = seed
            self.l2 = l2
            self.hiddenUnits = hiddenUnits
            self.classWeights = classWeights
            self.iterations = iterations
            self.bestIteration = bestIteration
            self.fitSeconds = fitSeconds
            self.validation = validation
            self.test = test
        }
    }

    /// A classifier's scores on labelled rows.
    public struct Evaluation: Codable, Sendable, Equatable {
        /// Precision, recall and F1 of one label.
        public struct LabelScores: Codable, Sendable, Equatable {
            public var label: String
            public var precision: Double
            public var recall: Double
            public var f1: Double
            /// Rows whose true label this is.
            public var support: Int

            public init(label: String, precision: Double, recall: Double, f1: Double, support: Int) {
                self.label = label
                self.precision = precision
                self.recall = recall
                self.f1 = f1
                self.support = support
            }
        }

        public var rows: Int
        public var accuracy: Double
        /// The mean F1 over the labels that occur as truth or as prediction (scikit-learn's `average="macro"`).
        public var macroF1: Double
        /// In the manifest's label order.
        public var perLabel: [LabelScores]
        /// `confusion[truth][predicted]` row counts, in the manifest's label order.
        public var confusion: [[Int]]

        public init(rows: Int, accuracy: Double, macroF1: Double, perLabel: [LabelScores], confusion: [[Int]]) {
            self.rows = rows
            self.accuracy = accuracy
            self.macroF1 = macroF1
            self.perLabel = perLabel
            self.confusion = confusion
        }
    }
}
