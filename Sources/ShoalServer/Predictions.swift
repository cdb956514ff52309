/// The messages of the reference system's `/predictions/{model}` route.
enum Predictions {
    struct Request: Decodable {
        let inputs: [String]
    }

    struct Response: Encodable {
        let predictions: [[Float]]
    }
}
