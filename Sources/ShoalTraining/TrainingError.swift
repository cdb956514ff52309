import Foundation

/// Everything that can go wrong while reading labelled data and training a head, each case saying what to do.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The data file cannot be read.
    case cannotRead(path: String, reason: String)
    /// A column the options name is not in the CSV file's header.
    case unknownColumn(path: String, column: String, option: String, columns: [String])
    /// Rows are missing a label, a text or a group value, and `--on-bad-row fail` was chosen.
    case badRows(path: String, rows: [BadRow])
    /// No usable row is left.
    case noRows(path: String)
    /// A head needs at least two labels.
    case oneClass(label: String, group: String?)
    /// Too few rows of a label to hold some out for validation.
    case tooFewRows(group: String?, reason: String)
    /// The embedding cache lacks some of the texts the fit step needs.
    case missingEmbeddings(count: Int, base: String)
    /// A setting is out of range.
    case invalidSetting(setting: String, reason: String)

    public var description: String {
        let scope = { (group: String?) in group.map { " in group '\($0)'" } ?? "" }
        switch self {
        case .cannotRead(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .unknownColumn(let path, let column, let option, let columns):
            return "\(path) has no column '\(column)' (\(option)); its header has: \(columns.joined(separator: ", "))"
        case .badRows(let path, let rows):
            let shown = rows.prefix(10).map { "  \($0)" }.joined(separator: "\n")
            let more = rows.count > 10 ? "\n  … and \(rows.count - 10) more" : ""
            return "\(path) has \(rows.count) bad row\(rows.count == 1 ? "" : "s"); fix them or pass --on-bad-row skip:\n\(shown)\(more)"
        case .noRows(let path):
            return "\(path) holds no usable row: each needs a text and a label"
        case .oneClass(let label, let group):
            return "every row\(scope(group)) has the label '\(label)'; a classifier needs at least two labels"
        case .tooFewRows(let group, let reason):
            return "too few rows\(scope(group)): \(reason)"
        case .missingEmbeddings(let count, let base):
            return "\(count) texts have no cached embedding of \(base); run `shoal train embed` over every shard first"
        case .invalidSetting(let setting, let reason):
            return "\(setting): \(reason)"
        }
    }
}

/// A row of a data file that cannot be used, by its line number.
public struct BadRow: Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line the row starts on (the header of a CSV file is line 1).
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "line \(line): \(reason)" }
}
