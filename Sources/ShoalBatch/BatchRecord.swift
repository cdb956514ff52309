import Foundation
import ShoalInference

/// One line of the input: the record's id (as JSON text) and its text, or why it cannot be processed.
struct BatchRecord {
    /// The line's number in the whole input, from 1.
    var line: Int
    /// The record's `id` as JSON text, or the line number when it has none.
    var id: String
    /// The text to run through the model.
    var text: String

    /// The record of `bytes`; nil for a blank line, which is no record. A line that is no JSON object, or has no
    /// text in `textField`, or too long a text, throws the reason.
    static func parse(_ bytes: ArraySlice<UInt8>, line: Int, textField: String, maxTextBytes: Int) throws(Refusal) -> BatchRecord? {
        guard bytes.contains(where: { !Self.isSpace($0) }) else { return nil }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw Refusal(id: nil, reason: "not JSON: \(Self.jsonProblem(error))")
        }
        guard let fields = object as? [String: Any] else { throw Refusal(id: nil, reason: "not a JSON object") }
        var id = String(line)
        if let value = fields["id"], !(value is NSNull) {
            guard value is String || value is NSNumber,
                  let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) else {
                throw Refusal(id: nil, reason: "\"id\" must be a string or a number")
            }
            id = String(decoding: data, as: UTF8.self)
        }
        guard let text = fields[textField] as? String else {
            let problem = fields[textField] == nil ? "has no" : "has a non-string"
            throw Refusal(id: id, reason: "\(problem) \"\(textField)\" field; each record needs its text there")
        }
        guard !text.isEmpty else { throw Refusal(id: id, reason: "\"\(textField)\" is empty") }
        guard text.utf8.count <= maxTextBytes else {
            throw Refusal(id: id, reason: "\"\(textField)\" has \(text.utf8.count) bytes; at most \(maxTextBytes) per text")
        }
        return BatchRecord(line: line, id: id, text: text)
    }

    /// Why a line is not processed, with its id when it had one.
    struct Refusal: Error {
        var id: String?
        var reason: String
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    private static func jsonProblem(_ error: any Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        return text ?? "malformed"
    }
}

/// What the model computed for one record.
public enum BatchPrediction: Sendable, Equatable {
    /// An embedding model's vector.
    case embedding([Float])
    /// A classifier's most probable label and the probability of every label.
    case classification(label: String, probabilities: [Float])
}

/// The output and error lines, written with `JSONWriter`.
enum BatchLine {
    /// `{"id":ID,"embedding":[…]}` or `{"id":ID,"label":"…","probabilities":[…]}`, with a newline.
    static func output(id: String, _ prediction: BatchPrediction, into json: inout JSONWriter) {
        json.raw(#"{"id":"#)
        json.json(id)
        switch prediction {
        case .embedding(let vector):
            json.raw(#","embedding":"#)
            json.floats(vector)
        case .classification(let label, let probabilities):
            json.raw(#","label":"#)
            json.string(label)
            json.raw(#","probabilities":"#)
            json.floats(probabilities)
        }
        json.raw("}\n")
    }

    /// `{"line":N,"id":ID,"error":"…"}` (id null when the line had none), with a newline.
    static func error(line: Int, id: String?, reason: String, into json: inout JSONWriter) {
        json.raw(#"{"line":"#)
        json.int(line)
        json.raw(#","id":"#)
        json.json(id ?? "null")
        json.raw(#","error":"#)
        json.string(reason)
        json.raw("}\n")
    }
}
