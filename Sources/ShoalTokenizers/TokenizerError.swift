/// Why a `tokenizer.json` could not be loaded.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadableFile(path: String, reason: String)
    /// The data is not JSON, or a field has the wrong shape; `reason` names the field.
    case malformedJSON(reason: String)
    /// A section the tokenizer needs, such as `model`, is absent or null.
    case missingSection(String)
    /// A section names a type this tokenizer does not implement, such as a `BPE` model.
    case unsupportedType(section: String, type: String, supported: [String])
    /// The sections are well formed but inconsistent, such as an unknown token that is not in the vocabulary.
    case invalidConfiguration(String)
    /// An error found while loading the file at `path`.
    indirect case inFile(path: String, TokenizerError)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            "cannot read tokenizer file \(path): \(reason)"
        case let .malformedJSON(reason):
            "tokenizer.json is malformed: \(reason)"
        case let .missingSection(section):
            "tokenizer.json has no '\(section)' section; export the tokenizer with Hugging Face tokenizers"
        case let .unsupportedType(section, type, supported):
            "tokenizer.json has a \(section) of type '\(type)', which is not supported; supported: "
                + supported.joined(separator: ", ")
        case let .invalidConfiguration(reason):
            "tokenizer.json is inconsistent: \(reason)"
        case let .inFile(path, error):
            "\(path): \(error)"
        }
    }
}
