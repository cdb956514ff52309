import Foundation

extension Model {
    /// Bytes of float32 parameters the model in `folder` holds once loaded, from its files' headers alone
    /// (nothing is read beyond `config.json` and the safetensors header): for a model folder, the encoder's
    /// dense layers, layer norms and embedding tables; for a head folder (`head.safetensors`), its tensors.
    ///
    /// This is what the `blas` provider holds (a classifier's own head aside). `native` pads each layer to
    /// whole 32-column panels and `amx` keeps 5 bytes a weight, so for them it is a lower bound, and a
    /// loader that reserves it before loading never refuses a model that fits.
    public static func minimumParameterBytes(folder: URL) throws -> Int {
        let configURL = folder.appendingPathComponent("config.json")
        guard let data = try readIfPresent(configURL) else {
            let head = try SafeTensors(contentsOf: folder.appendingPathComponent("head.safetensors"))
            let count = head.tensorNames.reduce(0) { $0 + (head.shape(of: $1)?.reduce(1, *) ?? 0) }
            return count * MemoryLayout<Float>.stride
        }
        let modelType = try decodeConfiguration(CommonConfiguration.self, from: data, path: configURL.path).modelType
        let encoder = try ArchitectureRegistry.architecture(for: modelType).configuration(from: data, path: configURL.path).encoder
        let h = encoder.hiddenSize, i = encoder.intermediateSize
        let tables = (encoder.vocabularySize + encoder.maxPositions + encoder.typeVocabularySize) * h
        let norms = (1 + 2 * encoder.layers) * 2 * h
        let layer = (3 * h * h + 3 * h) + (h * h + h) + (i * h + i) + (h * i + h)
        return (tables + norms + encoder.layers * layer) * MemoryLayout<Float>.stride
    }
}
