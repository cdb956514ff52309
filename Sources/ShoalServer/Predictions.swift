import ShoalInference

/// The messages of the reference system's `/predictions/{model}` route.
enum Predictions {
    struct Request: Decodable {
        let inputs: [String]

        private enum CodingKeys: String, CodingKey {
            case inputs
        }

        init(from decoder: any Decoder) throws {
            inputs = try decoder.container(keyedBy: CodingKeys.self).texts(forKey: .inputs) { field in
                APIError(.badRequest, "\(field) is not text: \"inputs\" must be a list of strings")
            }
        }
    }

    struct Response: JSONWritable {
        let predictions: [[Float]]

        var estimatedSize: Int { 32 + predictions.reduce(0) { $0 + 2 + $1.count * 13 } }

        func write(to writer: inout JSONWriter) {
            writer.raw(#"{"predictions":"#)
            writer.array(predictions) { $0.floats($1) }
            writer.raw("}")
        }
    }
}
