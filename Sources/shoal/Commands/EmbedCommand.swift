import ArgumentParser
import Foundation
import ShoalModels

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print the embeddings of texts.",
        discussion: "Example: shoal embed --model ./all-MiniLM-L6-v2 --json \"A sentence.\" \"Another one.\"")

    @OptionGroup var engine: EngineOptions
    @Flag(name: .long, help: "Print one JSON object {model, dimensions, embeddings}.")
    var json = false
    @Argument(help: "Texts to embed.")
    var texts: [String]

    func run() throws {
        let (model, pool) = try engine.load()
        guard case .embedding = model.task else {
            throw ValidationError("\(engine.model) is a classifier; use shoal classify")
        }
        let embeddings = try model(texts, on: pool)
        try OutputPrinter.print(json: json, model: engine.model, texts: texts) {
            ["dimensions": model.dimensions, "embeddings": embeddings]
        } text: {
            zip(texts, embeddings).map { text, vector in
                "\(text)\t[" + vector.map { String(format: "%.6f", $0) }.joined(separator: ", ") + "]"
            }
        }
    }
}
