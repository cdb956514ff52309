import Foundation

/// Writes a fitted head as the folder `shoal models derive` publishes: `head.json` and `head.safetensors`.
enum HeadFolder {
    static func write(_ head: FittedHead, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var tensors: [(String, [Int], [Float])] = []
        let names = head.layers.count > 1 ? ["hidden", "classifier"] : ["classifier"]
        for (name, layer) in zip(names, head.layers) {
            tensors.append(("\(name).weight", [layer.outputs, layer.inputs], layer.weight))
            tensors.append(("\(name).bias", [layer.outputs], layer.bias))
        }
        try safeTensors(tensors).write(to: folder.appendingPathComponent("head.safetensors"), options: .atomic)
        var description: [String: Any] = ["labels": head.labels]
        if head.hiddenUnits > 0 { description["hidden"] = head.hiddenUnits }
        let json = try JSONSerialization.data(withJSONObject: description, options: [.sortedKeys])
        try json.write(to: folder.appendingPathComponent("head.json"), options: .atomic)
    }

    /// float32 tensors in the safetensors layout: an 8-byte header length, a JSON header padded to 8 bytes, the data.
    static func safeTensors(_ tensors: [(name: String, shape: [Int], values: [Float])]) throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for tensor in tensors {
            let bytes = tensor.values.count * 4
            header[tensor.name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var text = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        text.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - text.count % 8) % 8))
        var data = Data()
        withUnsafeBytes(of: UInt64(text.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(text)
        for tensor in tensors { tensor.values.withUnsafeBytes { data.append(contentsOf: $0) } }
        return data
    }
}
