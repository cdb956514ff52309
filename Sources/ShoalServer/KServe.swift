import ShoalInference
import ShoalModels

/// The messages of the KServe Open Inference Protocol v2 (REST) and its model repository extension.
enum KServe {
    struct ServerMetadata: Encodable {
        let name: String
        let version: String
        let extensions: [String]
    }

    struct TensorMetadata: Encodable {
        let name: String
        let datatype: String
        let shape: [Int]
    }

    struct ModelMetadata: Encodable {
        let name: String
        let versions: [String]
        let platform: String
        let inputs: [TensorMetadata]
        let outputs: [TensorMetadata]

        init(_ info: ModelInfo) {
            name = info.name
            versions = [info.version]
            platform = "shoal_\(info.modelType)"
            inputs = [TensorMetadata(name: KServe.textInput, datatype: "BYTES", shape: [-1])]
            switch info.task {
            case .embedding:
                outputs = [TensorMetadata(name: KServe.embeddingOutput, datatype: "FP32", shape: [-1, info.dimensions])]
            case .classification:
                outputs = [
                    TensorMetadata(name: KServe.probabilitiesOutput, datatype: "FP32", shape: [-1, info.dimensions]),
                    TensorMetadata(name: KServe.labelOutput, datatype: "BYTES", shape: [-1]),
                ]
            }
        }
    }

    struct Readiness: Encodable {
        let name: String
        let ready: Bool
    }

    struct InferRequest: Decodable {
        let id: String?
        let inputs: [InputTensor]
        let outputs: [RequestedOutput]?
        let parameters: RequestParameters?
    }

    /// The request-level parameters Shoal reads; others (a sequence id, a priority) are accepted and ignored.
    struct RequestParameters: Decodable {
        /// Whether outputs that do not say otherwise come back as binary data.
        let binaryDataOutput: Bool?

        private enum CodingKeys: String, CodingKey {
            case binaryDataOutput = "binary_data_output"
        }
    }

    struct InputTensor: Decodable {
        let name: String
        let shape: [Int]
        let datatype: String
        /// The elements given in JSON, when the tensor's data is not binary.
        let data: Strings?
        /// The bytes of the tensor's binary data after the JSON header, when it has some.
        let binaryDataSize: Int?

        private enum CodingKeys: String, CodingKey {
            case name, shape, datatype, data, parameters
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            shape = try container.integers(forKey: .shape, "a non-negative integer", in: 0 ... .max)
            datatype = try container.decode(String.self, forKey: .datatype)
            let parameters = try TensorParameters.decodeIfPresent(from: container, forKey: .parameters)
            binaryDataSize = try parameters?.integerIfPresent(forKey: .binaryDataSize, "a non-negative integer", in: 0 ... .max)
            let hasData = container.contains(.data)
            switch (hasData, binaryDataSize) {
            case (true, .some):
                throw APIError(.badRequest, """
                    \(FieldName.of(decoder.codingPath)) has both "data" and "parameters.binary_data_size"; send its \
                    elements one way
                    """)
            case (false, nil):
                throw DecodingError.keyNotFound(CodingKeys.data, .init(
                    codingPath: decoder.codingPath, debugDescription: "no data"))
            default:
                data = hasData ? try container.decode(Strings.self, forKey: .data) : nil
            }
        }

        /// How many elements `shape` holds; nil when that is more than `Int.max`.
        var elementCount: Int? {
            guard !shape.contains(0) else { return 0 }
            var product = 1
            for dimension in shape {
                let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
                if overflow { return nil }
                product = next
            }
            return product
        }
    }

    /// BYTES tensor data: strings, flat or nested as the shape.
    struct Strings: Decodable {
        let values: [String]

        init(from decoder: any Decoder) throws {
            var values: [String] = []
            try Self.append(decoder, to: &values)
            self.values = values
        }

        /// Appends the strings of the array `decoder` holds, in order, descending into nested arrays.
        private static func append(_ decoder: any Decoder, to values: inout [String]) throws {
            var elements: any UnkeyedDecodingContainer
            do {
                elements = try decoder.unkeyedContainer()
            } catch DecodingError.typeMismatch {
                throw APIError(.badRequest, "\(FieldName.of(decoder.codingPath)) must be BYTES data: strings, flat or nested as the shape")
            }
            while !elements.isAtEnd {
                let element = try elements.superDecoder()
                do {
                    values.append(try element.text())
                } catch DecodingError.typeMismatch {
                    try append(element, to: &values)
                }
            }
        }
    }

    struct RequestedOutput: Decodable {
        let name: String
        /// Whether this output comes back as binary data; nil leaves it to the request's `binary_data_output`.
        let binaryData: Bool?

        private enum CodingKeys: String, CodingKey {
            case name, parameters
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            let parameters = try TensorParameters.decodeIfPresent(from: container, forKey: .parameters)
            binaryData = try parameters?.decodeIfPresent(Bool.self, forKey: .binaryData)
        }
    }

    /// The parameters of an input or requested output tensor that Shoal reads; it refuses those of extensions it
    /// lacks, whose data would otherwise be silently wrong, and ignores the rest.
    enum TensorParameters: String, CodingKey {
        case binaryDataSize = "binary_data_size"
        case binaryData = "binary_data"
        case sharedMemoryRegion = "shared_memory_region"
        case classification

        /// The parameters at `key` of `container`, or nil when there are none.
        static func decodeIfPresent<Key>(
            from container: KeyedDecodingContainer<Key>, forKey key: Key
        ) throws -> KeyedDecodingContainer<Self>? {
            guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
            let parameters = try container.nestedContainer(keyedBy: Self.self, forKey: key)
            for unsupported in [sharedMemoryRegion, classification] where parameters.contains(unsupported) {
                throw APIError(.badRequest, """
                    \(FieldName.of(parameters.codingPath + [unsupported])) belongs to an extension this server does \
                    not serve; it serves \(KServe.extensions.joined(separator: " and "))
                    """)
            }
            return parameters
        }
    }

    struct InferResponse: JSONWritable {
        let modelName: String
        let modelVersion: String
        let id: String?
        let outputs: [OutputTensor]

        var estimatedSize: Int { 128 + outputs.reduce(0) { $0 + $1.estimatedSize } }

        func write(to writer: inout JSONWriter) {
            writer.raw(#"{"model_name":"#)
            writer.string(modelName)
            writer.raw(#","model_version":"#)
            writer.string(modelVersion)
            if let id {
                writer.raw(#","id":"#)
                writer.string(id)
            }
            writer.raw(#","outputs":"#)
            writer.array(outputs) { writer, output in
                writer.raw(#"{"name":"#)
                writer.string(output.name)
                writer.raw(#","shape":"#)
                writer.array(output.shape) { $0.int($1) }
                writer.raw(#","datatype":"#)
                writer.string(output.datatype)
                if output.binary {
                    writer.raw(#","parameters":{"binary_data_size":"#)
                    writer.int(output.data.binarySize)
                    writer.raw("}}")
                    return
                }
                writer.raw(#","data":"#)
                switch output.data {
                case .floats(let values): writer.floats(values)
                case .strings(let values): writer.array(values) { $0.string($1) }
                }
                writer.raw("}")
            }
            writer.raw("}")
        }
    }

    struct OutputTensor {
        let name: String
        let shape: [Int]
        let datatype: String
        let data: OutputData
        /// Whether the data follows the JSON header as binary data rather than inside it.
        var binary = false

        var estimatedSize: Int {
            guard !binary else { return 128 }
            return switch data {
            case .floats(let values): 96 + values.count * 13
            case .strings(let values): 96 + values.reduce(0) { $0 + 3 + $1.utf8.count }
            }
        }
    }

    enum OutputData {
        case floats([Float])
        case strings([String])
    }

    struct IndexRequest: Decodable {
        let ready: Bool?
    }

    struct IndexEntry: Encodable {
        let name: String
        let version: String
        let state: String
        let reason: String
    }

    /// The protocol's extensions this server serves, as its metadata lists them.
    static let extensions = ["binary_tensor_data", "model_repository"]
    static let textInput = "text"
    static let embeddingOutput = "embedding"
    static let probabilitiesOutput = "probabilities"
    static let labelOutput = "label"
}

extension KServe {
    /// `GET /v2/models/{name}/stats`: the statistics extension's shape (as Triton answers it), with Shoal's own
    /// figures under `shoal`. Durations are nanoseconds summed over the counted events.
    struct Statistics: Encodable {
        let models: [Model]

        enum CodingKeys: String, CodingKey { case models = "model_stats" }

        /// One model's statistics.
        struct Model: Encodable {
            let name: String
            let version: String
            /// Milliseconds since 1970 of the last answered request; 0 for never.
            let lastInference: Int64
            let inferenceCount: Int
            let executionCount: Int
            let inferenceStats: InferenceStats
            let shoal: Extra

            enum CodingKeys: String, CodingKey {
                case name, version, lastInference = "last_inference", inferenceCount = "inference_count"
                case executionCount = "execution_count", inferenceStats = "inference_stats", shoal
            }

            init(_ statistics: ModelStatistics, version: String) {
                name = statistics.name
                self.version = version
                lastInference = statistics.lastUsed.map { Int64($0.timeIntervalSince1970 * 1_000) } ?? 0
                inferenceCount = statistics.inputs
                executionCount = statistics.requests
                inferenceStats = InferenceStats(
                    success: .init(statistics.requests, seconds: statistics.requestSeconds),
                    fail: .init(statistics.failures, seconds: 0),
                    queue: .init(statistics.inputs, seconds: statistics.queueSeconds),
                    computeInfer: .init(statistics.inputs, seconds: statistics.computeSeconds))
                shoal = Extra(
                    loads: .init(statistics.loads, seconds: statistics.loadSeconds), evictions: statistics.evictions,
                    cacheHits: statistics.cacheHits, cacheMisses: statistics.cacheMisses, droppedInputs: statistics.dropped)
            }
        }

        /// Counts and summed durations by phase: requests for success and fail, inputs for queue and compute.
        struct InferenceStats: Encodable {
            let success: Duration
            let fail: Duration
            let queue: Duration
            let computeInfer: Duration

            enum CodingKeys: String, CodingKey { case success, fail, queue, computeInfer = "compute_infer" }
        }

        /// How many events, and their nanoseconds in all.
        struct Duration: Encodable {
            let count: Int
            let ns: Int64

            init(_ count: Int, seconds: Double) {
                self.count = count
                ns = Int64((seconds * 1e9).rounded())
            }
        }

        /// What the extension has no field for.
        struct Extra: Encodable {
            let loads: Duration
            let evictions: Int
            let cacheHits: Int
            let cacheMisses: Int
            let droppedInputs: Int

            enum CodingKeys: String, CodingKey {
                case loads, evictions, cacheHits = "cache_hits", cacheMisses = "cache_misses", droppedInputs = "dropped_inputs"
            }
        }
    }
}
