import ArgumentParser
import Foundation
import ShoalStore
import ShoalTraining

extension LabelledData.BadRowPolicy: ExpressibleByArgument {}
extension HeadSettings.ClassWeights: ExpressibleByArgument {}

/// The data a head is trained on and the base it reads, shared by `shoal train` and its `embed` and `fit` steps.
struct TrainDataOptions: ParsableArguments {
    @OptionGroup var store: ModelsStoreOptions
    @Option(name: .long, help: "The base: NAME or NAME@VERSION of an embedding model in the store.")
    var base: ModelReference
    @Option(name: .long, help: "Labelled rows: JSON Lines ({\"text\", \"label\"} a line) or a .csv file with a header; a path or s3://BUCKET/KEY.")
    var data: String
    @Option(name: .long, help: "Rows for early stopping and the validation metrics (default: a stratified share of --data).")
    var validation: String?
    @Option(name: .long, help: "Held-out rows scored after fitting, recorded as the test metrics.")
    var test: String?
    @Option(name: .long, help: "The field (JSON Lines) or column (CSV) holding the text.")
    var textColumn = "text"
    @Option(name: .long, help: "The field or column holding the label.")
    var labelColumn = "label"
    @Option(name: .long, help: "Train one head per value of this field or column, named NAME-VALUE, over one pass of the encoder.")
    var groupBy: String?
    @Option(name: .long, help: "Rows without a text, a label or a group value: skip (reported with their line numbers) or fail.")
    var onBadRow = LabelledData.BadRowPolicy.fail
    @Option(name: .long, help: "Compute threads of the encoder (default: the number of cores).")
    var threads: Int?

    /// These options as arguments again, for the same step in another process or pod.
    var arguments: [String] {
        var list = ["--base", base.description, "--data", data, "--text-column", textColumn, "--label-column", labelColumn,
                    "--on-bad-row", onBadRow.rawValue]
        if let validation { list += ["--validation", validation] }
        if let test { list += ["--test", test] }
        if let groupBy { list += ["--group-by", groupBy] }
        if let threads { list += ["--threads", String(threads)] }
        if let endpointURL = store.endpointURL { list += ["--endpoint-url", endpointURL] }
        if let region = store.region { list += ["--region", region] }
        return list
    }

    func trainer() throws -> Trainer {
        Trainer(store: try store.open(), threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The plan for a model called `name`; reports skipped rows on standard error.
    func plan(name: String) async throws -> TrainingPlan {
        let columns = DataColumns(text: textColumn, label: labelColumn, group: groupBy)
        var plan = TrainingPlan(base: base, name: name, data: try await read(data, columns: columns))
        if let validation { plan.validation = try await read(validation, columns: columns) }
        if let test { plan.test = try await read(test, columns: columns) }
        return plan
    }

    private func read(_ path: String, columns: DataColumns) async throws -> LabelledData {
        let data = try await LabelledData.read(bytes(path), path: path, columns: columns, policy: onBadRow)
        if !data.badRows.isEmpty {
            let lines = data.badRows.prefix(10).map { "  \($0)" }.joined(separator: "\n")
            let more = data.badRows.count > 10 ? "\n  … and \(data.badRows.count - 10) more" : ""
            FileHandle.standardError.write(Data("skipped \(data.badRows.count) bad rows of \(path):\n\(lines)\(more)\n".utf8))
        }
        return data
    }

    /// The bytes of a local file or of an S3 object, with the store's endpoint and region.
    private func bytes(_ path: String) async throws -> Data {
        guard path.hasPrefix("s3://") else {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TrainingError.cannotRead(path: path, reason: "no such readable file")
            }
            return data
        }
        let rest = path.dropFirst("s3://".count)
        guard let slash = rest.firstIndex(of: "/"), rest.index(after: slash) < rest.endIndex else {
            throw TrainingError.cannotRead(path: path, reason: "an S3 object is s3://BUCKET/KEY")
        }
        let bucket = try ModelsStoreOptions.open("s3://\(rest[..<slash])", endpointURL: store.endpointURL, region: store.region)
        guard let data = try await bucket.backend.read(String(rest[rest.index(after: slash)...])) else {
            throw TrainingError.cannotRead(path: path, reason: "no such object")
        }
        return data
    }
}

/// How heads are fitted, shared by `shoal train` and its `fit` step.
struct TrainHeadOptions: ParsableArguments {
    @Option(name: .long, help: "The model's name; with --group-by, each head is NAME-VALUE.")
    var name: String
    @Option(name: .long, help: "L2 penalty on the weights per row (default: 1/rows, scikit-learn's C=1).")
    var l2: Double?
    @Option(name: .long, help: "Units of a tanh hidden layer (default: 0, a linear head: multinomial logistic regression).")
    var hidden = 0
    @Option(name: .long, help: "none, or balanced: each label's rows weigh rows / (labels × its rows).")
    var classWeights = HeadSettings.ClassWeights.none
    @Option(name: .long, help: "Most L-BFGS iterations.")
    var maxIterations = 500
    @Option(name: .long, help: "Checks of the validation loss (every 10 iterations) without improvement before stopping.")
    var patience = 5
    @Option(name: .long, help: "Share of each label's rows held out for validation when --validation is not given.")
    var validationFraction = 0.1
    @Option(name: .long, help: "Seed of the validation split and of a hidden layer's first weights.")
    var seed: UInt64 = 0

    var arguments: [String] {
        var list = ["--name", name, "--hidden", String(hidden), "--class-weights", classWeights.rawValue,
                    "--max-iterations", String(maxIterations), "--patience", String(patience),
                    "--validation-fraction", String(validationFraction), "--seed", String(seed)]
        if let l2 { list += ["--l2", String(l2)] }
        return list
    }

    func apply(to plan: inout TrainingPlan) throws {
        plan.validationFraction = validationFraction
        plan.head.l2 = l2
        plan.head.hiddenUnits = hidden
        plan.head.classWeights = classWeights
        plan.head.maxIterations = maxIterations
        plan.head.patience = patience
        plan.head.seed = seed
        try plan.validate()
    }
}

/// What `shoal train` prints of published heads.
enum TrainOutput {
    static func describe(_ manifest: Manifest) -> String {
        var line = "published \(manifest.id) over \(manifest.base?.description ?? "?"): \(manifest.labels.count) labels"
        if let training = manifest.training {
            line += String(format: ", validation accuracy %.4f, macro-F1 %.4f (%d rows)", training.validation.accuracy,
                           training.validation.macroF1, training.validation.rows)
            if let test = training.test {
                line += String(format: ", test accuracy %.4f, macro-F1 %.4f (%d rows)", test.accuracy, test.macroF1, test.rows)
            }
        }
        return line
    }
}
