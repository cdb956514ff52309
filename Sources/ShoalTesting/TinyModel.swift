import Foundation

/// Writes complete Hugging Face model folders of tiny, randomly initialised BERT and DistilBERT models.
///
/// The folders hold `config.json`, `model.safetensors`, `tokenizer.json` (see `TinyTokenizer`) and, for
/// embedding models, the sentence-transformers files. Weights are reproducible from the seed alone; see
/// `weights(architecture:task:seed:)` for the recipe that `scripts/tiny_fixtures.py` repeats in Python.
public enum TinyModel {
    /// The model families a tiny model can be written as.
    public enum Architecture: String, Sendable, CaseIterable {
        /// `BertModel` / `BertForSequenceClassification`.
        case bert
        /// `DistilBertModel` / `DistilBertForSequenceClassification`.
        case distilbert
    }

    /// How sentence-transformers pools token vectors into one embedding.
    public enum Pooling: String, Sendable, CaseIterable {
        /// Average over tokens whose attention mask is 1.
        case mean
        /// The first (`[CLS]`) token's vector.
        case cls
        /// Element-wise maximum over tokens whose attention mask is 1.
        case max
    }

    /// What the model folder is for.
    public enum Task: Sendable, Equatable {
        /// A sentence-transformers embedding model, optionally L2-normalising its output.
        case embedding(pooling: Pooling, normalize: Bool)
        /// A sequence classifier with these labels, in id order.
        case classification(labels: [String])
    }

    /// Width of every token vector.
    public static let hiddenSize = 32
    /// Number of transformer layers.
    public static let layerCount = 2
    /// Number of attention heads per layer.
    public static let headCount = 4
    /// Width of the feed-forward layer.
    public static let intermediateSize = 64
    /// Number of learned position embeddings.
    public static let maxPositionEmbeddings = 64
    /// Number of token-type embeddings (BERT only).
    public static let typeVocabularySize = 2
    /// The sequence length inputs are truncated to (`sentence_bert_config.json` and `tokenizer_config.json`).
    public static let maxSequenceLength = 48

    /// Writes the model folder, creating `folder` if needed; `dtype` ("F32", "F16" or "BF16") is the weights' storage type.
    public static func write(
        to folder: URL, architecture: Architecture, task: Task, seed: UInt64, dtype: String = "F32"
    ) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        try SafeTensorsWriter.write(
            weights(architecture: architecture, task: task, seed: seed),
            to: folder.appendingPathComponent("model.safetensors"),
            dtype: dtype
        )
        var files: [(String, String)] = [
            // transformers ends config.json with a newline; tokenizers and sentence-transformers do not.
            ("config.json", configuration(architecture: architecture, task: task, dtype: dtype).text(pretty: true) + "\n"),
            ("tokenizer.json", TinyTokenizer.json),
            ("tokenizer_config.json", tokenizerConfiguration(architecture: architecture).text(pretty: true)),
            ("vocab.txt", TinyTokenizer.vocabText),
        ]
        if case .embedding(let pooling, let normalize) = task {
            files += sentenceTransformersFiles(pooling: pooling, normalize: normalize).map { ($0.0, $0.1.text(pretty: true)) }
            if normalize {
                try manager.createDirectory(at: folder.appendingPathComponent("2_Normalize"), withIntermediateDirectories: true)
            }
        }
        for (path, text) in files {
            let url = folder.appendingPathComponent(path)
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .atomic)
        }
    }
}
