/// How a head is fitted.
public struct HeadSettings: Sendable, Equatable {
    /// How rows of rare and common labels are weighed against each other.
    public enum ClassWeights: String, Sendable, CaseIterable {
        /// Every row counts once.
        case none
        /// Each label's rows weigh rows / (labels × its rows), as scikit-learn's `class_weight="balanced"`.
        case balanced
    }

    /// The L2 penalty on the weights per row; `nil` takes 1 / training rows, scikit-learn's `C=1`.
    public var l2: Double?
    /// Units of a tanh hidden layer; 0 fits multinomial logistic regression.
    public var hiddenUnits = 0
    public var classWeights = ClassWeights.none
    /// Most L-BFGS iterations.
    public var maxIterations = 500
    /// Stops when no gradient component is larger (scikit-learn's `tol`).
    public var tolerance = 1e-4
    /// The validation loss is checked every this many iterations...
    public var checkEvery = 10
    /// ...and fitting stops once it has not improved for this many checks; the best weights are kept.
    public var patience = 5
    /// Seeds the validation split and a hidden layer's initial weights.
    public var seed: UInt64 = 0

    public init() {}

    /// Throws an error naming the first setting out of range.
    public func validate() throws(TrainingError) {
        if let l2, !(l2 >= 0 && l2.isFinite) { throw .invalidSetting(setting: "--l2", reason: "must be a number ≥ 0") }
        guard hiddenUnits >= 0 else { throw .invalidSetting(setting: "--hidden", reason: "must be a whole number ≥ 0") }
        guard maxIterations >= 1 else { throw .invalidSetting(setting: "--max-iterations", reason: "must be at least 1") }
        guard tolerance > 0 else { throw .invalidSetting(setting: "--tolerance", reason: "must be > 0") }
        guard checkEvery >= 1, patience >= 1 else { throw .invalidSetting(setting: "--patience", reason: "must be at least 1") }
    }
}
