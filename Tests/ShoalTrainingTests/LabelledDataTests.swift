import Foundation
import Testing
@testable import ShoalTraining

struct LabelledDataTests {
    static let jsonLines = """
        {"text": "good", "label": "pos", "customer": "a"}
        {"text": "bad", "label": "neg", "customer": "a"}

        {"text": "", "label": "pos", "customer": "b"}
        {"text": "meh"}
        not json
        {"text": "fine", "label": 1, "customer": "b"}
        {"text": "ok", "label": "pos"}
        """

    @Test func badRowsAreReportedByLineAndSkippedOrRefused() throws {
        let columns = DataColumns(group: "customer")
        let skipped = try LabelledData.read(Data(Self.jsonLines.utf8), path: "rows.jsonl", columns: columns, policy: .skip)
        #expect(skipped.rows.map(\.line) == [1, 2, 7])
        #expect(skipped.rows[2] == LabelledRow(line: 7, text: "fine", label: "1", group: "b"))
        #expect(skipped.badRows == [
            BadRow(line: 4, reason: "empty text ('text')"), BadRow(line: 5, reason: "no label ('label')"),
            BadRow(line: 6, reason: "not a JSON object"), BadRow(line: 8, reason: "no group value ('customer')"),
        ])
        let refused = #expect(throws: TrainingError.self) {
            try LabelledData.read(Data(Self.jsonLines.utf8), path: "rows.jsonl", columns: columns, policy: .fail)
        }
        #expect(refused?.description.contains("rows.jsonl has 4 bad rows") == true)
        #expect(refused?.description.contains("line 5: no label ('label')") == true, "\(String(describing: refused))")
    }

    @Test func csvHasNamedColumnsQuotedFieldsAndLineNumbers() throws {
        let csv = "id,body,section\r\n1,\"Hello, \"\"world\"\"\",greeting\r\n2,\"two\nlines\",misc\n3,,misc\n4,last,\n"
        let data = try LabelledData.read(Data(csv.utf8), path: "rows.csv", columns: DataColumns(text: "body", label: "section"), policy: .skip)
        #expect(data.rows == [LabelledRow(line: 2, text: "Hello, \"world\"", label: "greeting"), LabelledRow(line: 3, text: "two\nlines", label: "misc")])
        #expect(data.badRows == [BadRow(line: 5, reason: "empty text ('body')"), BadRow(line: 6, reason: "no label ('section')")])
        #expect(throws: TrainingError.unknownColumn(path: "rows.csv", column: "label", option: "--label-column", columns: ["id", "body", "section"])) {
            try LabelledData.read(Data(csv.utf8), path: "rows.csv", columns: DataColumns(text: "body"))
        }
    }

    @Test func anEmptyFileHasNoRows() {
        #expect(throws: TrainingError.noRows(path: "empty.jsonl")) { try LabelledData.read(Data("\n".utf8), path: "empty.jsonl") }
    }
}
