import ShoalStore

/// What `shoal train` is asked to make: the base, the data and how to fit.
public struct TrainingPlan: Sendable {
    /// The embedding model whose pooled output the heads read.
    public var base: ModelReference
    /// The model's name; with groups, each head is `NAME-GROUP`.
    public var name: String
    public var data: LabelledData
    /// Rows for early stopping and the validation metrics; a stratified share of `data` when absent.
    public var validation: LabelledData?
    /// Held-out rows scored after fitting, reported as the test metrics.
    public var test: LabelledData?
    /// The share of each label's rows held out for validation when `validation` is absent.
    public var validationFraction = 0.1
    public var head = HeadSettings()

    public init(base: ModelReference, name: String, data: LabelledData) {
        self.base = base
        self.name = name
        self.data = data
    }

    /// Every distinct text of the data, validation and test rows, in first-seen order.
    public var texts: [String] {
        var seen = Set<String>()
        return ([data] + [validation, test].compactMap { $0 }).flatMap(\.rows).map(\.text).filter { seen.insert($0).inserted }
    }

    /// The groups in name order, `[nil]` without `--group-by`.
    public var groups: [String?] {
        let values = Set(data.rows.compactMap(\.group))
        return values.isEmpty ? [nil] : values.sorted()
    }

    /// The model name of a group's head.
    public func modelName(group: String?) -> String {
        group.map { "\(name)-\($0)" } ?? name
    }

    /// Throws an error naming the first setting that cannot work.
    public func validate() throws {
        try head.validate()
        guard validationFraction > 0, validationFraction < 1 else {
            throw TrainingError.invalidSetting(setting: "--validation-fraction", reason: "must be > 0 and < 1")
        }
        for group in groups {
            let name = modelName(group: group)
            guard ModelReference.isValidName(name) else {
                throw TrainingError.invalidSetting(
                    setting: group == nil ? "--name" : "--group-by", reason: "'\(name)' is not a model name; \(ModelReference.nameRule)")
            }
        }
    }
}
