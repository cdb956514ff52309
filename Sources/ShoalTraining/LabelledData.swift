import Foundation
import ShoalStore

/// One usable row of a data file.
public struct LabelledRow: Sendable, Equatable {
    /// The 1-based line the row starts on.
    public var line: Int
    public var text: String
    public var label: String
    /// The value of the grouping column, with `--group-by`.
    public var group: String?

    public init(line: Int, text: String, label: String, group: String? = nil) {
        self.line = line
        self.text = text
        self.label = label
        self.group = group
    }
}

/// Which fields of a row hold the text, the label and the group.
public struct DataColumns: Sendable, Equatable {
    public var text = "text"
    public var label = "label"
    /// One head is trained per value of this column; `nil` trains one head.
    public var group: String?

    public init(text: String = "text", label: String = "label", group: String? = nil) {
        self.text = text
        self.label = label
        self.group = group
    }
}

/// A labelled data file read into rows: JSON Lines (`{"text": …, "label": …}`, one object a line) or, for a
/// `.csv` file, CSV with a header naming the columns.
public struct LabelledData: Sendable {
    /// What to do with rows lacking a text, a label or a group value.
    public enum BadRowPolicy: String, Sendable, CaseIterable {
        case skip, fail
    }

    /// Where the data came from, for messages.
    public var path: String
    public var rows: [LabelledRow]
    /// Rows left out, by line; empty unless the policy is `skip`.
    public var badRows: [BadRow]
    /// sha256 of the file's bytes.
    public var digest: String

    public init(path: String, rows: [LabelledRow], badRows: [BadRow] = [], digest: String) {
        self.path = path
        self.rows = rows
        self.badRows = badRows
        self.digest = digest
    }

    /// Reads `bytes` (from `path`, whose extension picks the format) under `columns` and `policy`.
    public static func read(_ bytes: Data, path: String, columns: DataColumns = DataColumns(),
                            policy: BadRowPolicy = .fail) throws(TrainingError) -> LabelledData {
        let records = path.lowercased().hasSuffix(".csv")
            ? try csvRecords(bytes, path: path, columns: columns)
            : jsonLinesRecords(bytes, columns: columns)
        var rows: [LabelledRow] = []
        var bad: [BadRow] = []
        for record in records {
            switch record {
            case .success(let row): rows.append(row)
            case .failure(let row): bad.append(row)
            }
        }
        if policy == .fail, !bad.isEmpty { throw .badRows(path: path, rows: bad) }
        guard !rows.isEmpty else { throw .noRows(path: path) }
        return LabelledData(path: path, rows: rows, badRows: bad, digest: FileDigest.sha256(of: bytes))
    }

    /// A row, or why it is bad.
    private enum Parsed {
        case success(LabelledRow)
        case failure(BadRow)
    }

    /// A row from its fields, or why it is bad.
    private static func row(line: Int, fields: (String) -> String?, columns: DataColumns) -> Parsed {
        guard let text = fields(columns.text), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .failure(BadRow(line: line, reason: "empty text ('\(columns.text)')"))
        }
        guard let label = fields(columns.label), !label.isEmpty else {
            return .failure(BadRow(line: line, reason: "no label ('\(columns.label)')"))
        }
        var group: String?
        if let column = columns.group {
            guard let value = fields(column), !value.isEmpty else {
                return .failure(BadRow(line: line, reason: "no group value ('\(column)')"))
            }
            group = value
        }
        return .success(LabelledRow(line: line, text: text, label: label, group: group))
    }

    // MARK: JSON Lines

    private static func jsonLinesRecords(_ bytes: Data, columns: DataColumns) -> [Parsed] {
        var records: [Parsed] = []
        var line = 0
        for slice in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            line += 1
            guard slice.contains(where: { !($0 == 32 || $0 == 9 || $0 == 13) }) else { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(slice))) as? [String: Any] else {
                records.append(.failure(BadRow(line: line, reason: "not a JSON object")))
                continue
            }
            records.append(row(line: line, fields: { Self.string(object[$0]) }, columns: columns))
        }
        return records
    }

    /// A JSON value as a field: strings as they are, numbers and booleans written out, anything else absent.
    private static func string(_ value: Any?) -> String? {
        switch value {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    // MARK: CSV

    private static func csvRecords(_ bytes: Data, path: String, columns: DataColumns) throws(TrainingError) -> [Parsed] {
        let table = CSVTable(bytes)
        guard let header = table.records.first?.fields else { throw .noRows(path: path) }
        let named = [(columns.text, "--text-column"), (columns.label, "--label-column")] + (columns.group.map { [($0, "--group-by")] } ?? [])
        var index: [String: Int] = [:]
        for (position, name) in header.enumerated() where index[name] == nil { index[name] = position }
        for (column, option) in named where index[column] == nil {
            throw .unknownColumn(path: path, column: column, option: option, columns: header)
        }
        return table.records.dropFirst().compactMap { record in
            guard record.fields != [""] else { return nil }  // a blank line
            return row(line: record.line, fields: { name in index[name].flatMap { $0 < record.fields.count ? record.fields[$0] : nil } },
                       columns: columns)
        }
    }
}

/// RFC 4180 CSV: fields separated by commas, quoted with `"` (doubled inside), records by CRLF or LF;
/// a quoted field may span lines.
struct CSVTable {
    /// One record and the line it starts on.
    struct Record {
        var line: Int
        var fields: [String]
    }

    var records: [Record] = []

    init(_ bytes: Data) {
        var field: [UInt8] = []
        var fields: [String] = []
        var quoted = false
        var line = 1
        var start = 1
        var iterator = bytes.makeIterator()
        var pending: UInt8? = nil
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        func endRecord() {
            endField()
            records.append(Record(line: start, fields: fields))
            fields = []
        }
        var sawAny = false
        while let byte = pending ?? iterator.next() {
            pending = nil
            sawAny = true
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    let next = iterator.next()
                    if next == UInt8(ascii: "\"") { field.append(byte) } else { quoted = false; pending = next }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): quoted = true
            case UInt8(ascii: ","): endField()
            case UInt8(ascii: "\r"): break
            case UInt8(ascii: "\n"):
                endRecord()
                line += 1
                start = line
                sawAny = false
            default: field.append(byte)
            }
        }
        if sawAny { endRecord() }
    }
}
