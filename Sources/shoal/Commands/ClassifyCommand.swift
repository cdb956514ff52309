import ArgumentParser
import Foundation
import ShoalModels

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Print the class probabilities of texts.",
        discussion: "Example: shoal classify --model ./sentiment-model --json \"I loved it.\"")

    @OptionGroup var engine: EngineOptions
    @Flag(name: .long, help: "Print one JSON object {model, labels, probabilities}.")
    var json = false
    @Argument(help: "Texts to classify.")
    var texts: [String]

    func run() throws {
        let (model, pool) = try engine.load()
        guard case .classification(let labels) = model.task else {
            throw ValidationError("\(engine.model) is an embedding model; use shoal embed")
        }
        let probabilities = try model(texts, on: pool)
        try OutputPrinter.print(json: json, model: engine.model, texts: texts) {
            ["labels": labels, "probabilities": probabilities]
        } text: {
            zip(texts, probabilities).map { text, row in
                let best = row.indices.max { row[$0] < row[$1] } ?? 0
                let all = zip(labels, row).map { "\($0)=\(String(format: "%.4f", $1))" }.joined(separator: " ")
                return "\(text)\t\(labels[best])\t\(all)"
            }
        }
    }
}

/// Prints a command's result as one JSON object or as lines of text.
enum OutputPrinter {
    static func print(json: Bool, model: String, texts: [String], fields: () -> [String: Any],
                      text: () -> [String]) throws {
        guard json else {
            text().forEach { Swift.print($0) }
            return
        }
        var object = fields()
        object["model"] = model
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        Swift.print(String(decoding: data, as: UTF8.self))
    }
}
