import Foundation
import ShoalTensor

/// Writes a classifier head folder (`head.json`, `head.safetensors`) for a base embedding model.
public enum TinyHead {
    /// Writes `labels.count × inputs` random weights from `seed` (splitmix64, scale 0.5) and matching biases.
    public static func write(to folder: URL, labels: [String], inputs: Int, seed: UInt64) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var random = SplitMix64(seed: seed)
        let weight = (0..<(labels.count * inputs)).map { _ in Float(random.nextSigned() * 0.5) }
        let bias = (0..<labels.count).map { _ in Float(random.nextSigned() * 0.1) }
        try SafeTensorsWriter.write(
            [("classifier.weight", [labels.count, inputs], weight), ("classifier.bias", [labels.count], bias)],
            to: folder.appendingPathComponent("head.safetensors"))
        let json = try JSONSerialization.data(withJSONObject: ["labels": labels], options: [.sortedKeys])
        try json.write(to: folder.appendingPathComponent("head.json"), options: .atomic)
    }
}
