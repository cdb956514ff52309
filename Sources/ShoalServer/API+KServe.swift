import Hummingbird
import ShoalInference
import ShoalModels

extension API {
    /// The KServe Open Inference Protocol v2 routes and the model repository extension.
    func addKServeRoutes(to router: Router<ServerContext>) {
        router.get("/v2") { _, _ in
            JSONResponse.make(KServe.ServerMetadata(name: "shoal", version: Server.version, extensions: KServe.extensions))
        }
        router.get("/v2/health/live") { _, _ in
            JSONResponse.make(["live": true])
        }
        router.get("/v2/health/ready") { _, _ in
            let ready = state.isReady
            return JSONResponse.make(["ready": ready], status: ready ? .ok : .serviceUnavailable)
        }
        for prefix in ["/v2/models/:model", "/v2/models/:model/versions/:version"] {
            router.get("\(prefix)") { _, context in
                let info = try await inference.info(model: try modelName(context))
                try checkVersion(info, context)
                return JSONResponse.make(KServe.ModelMetadata(info))
            }
            router.get("\(prefix)/ready") { _, context in
                let name = try modelName(context)
                let ready = try await inference.isReady(model: name)
                if ready { try checkVersion(try await inference.info(model: name), context) }
                return JSONResponse.make(KServe.Readiness(name: name, ready: ready), status: ready ? .ok : .serviceUnavailable)
            }
            router.post("\(prefix)/infer") { request, context in
                try await infer(request, context: context)
            }
        }
        router.get("/v2/models/:model/stats") { _, context in
            let name = try modelName(context)
            let statistics = try await inference.statistics(model: name)
            let version = try await inference.index(model: name)?.version ?? "1"
            return JSONResponse.make(KServe.Statistics(models: [.init(statistics, version: version)]))
        }
        router.post("/v2/repository/index") { request, _ in
            let filter = try await indexFilter(request)
            let entries = try await inference.index()
                .filter { filter == nil || ($0.state == .ready) == filter }
                .map { KServe.IndexEntry(name: $0.name, version: $0.version, state: $0.state.rawValue, reason: $0.reason) }
            return JSONResponse.make(entries)
        }
        router.post("/v2/repository/models/:model/load") { _, context in
            try await inference.load(model: try modelName(context))
            return Response(status: .ok)
        }
        router.post("/v2/repository/models/:model/unload") { _, context in
            try await inference.unload(model: try modelName(context))
            return Response(status: .ok)
        }
    }

    private func infer(_ request: Request, context: ServerContext) async throws -> Response {
        let name = try modelName(context)
        let body = try KServe.InferBody(
            try await request.body.collect(upTo: configuration.maxBodyBytes),
            headerLength: request.headers[KServe.headerLengthField])
        guard !body.json.isEmpty else { throw APIError(.badRequest, "the request needs a JSON body") }
        let message = try JSONRequest.decode(KServe.InferRequest.self, from: body.json)
        let inputTexts = try KServe.texts(of: message.inputs, binary: body.binary)
        guard message.inputs.count == 1, let input = message.inputs.first, let texts = inputTexts.first else {
            throw APIError(.badRequest, "send exactly one input tensor, \"\(KServe.textInput)\" of datatype BYTES")
        }
        guard input.datatype == "BYTES", let texts else {
            throw APIError(.badRequest, "input \"\(input.name)\" has datatype \(input.datatype); text models take BYTES")
        }
        let elements = input.elementCount
        guard elements == texts.count else {
            let source = input.binaryDataSize == nil ? #""inputs[0].data" holds"# : "the binary data of \"inputs[0]\" holds"
            throw APIError(.badRequest, """
                "inputs[0].shape" \(input.shape) holds \(elements.map(String.init) ?? "more than \(Int.max)") elements \
                but \(source) \(texts.count) strings
                """)
        }
        let result = try await infer(name, texts: texts, context: context)
        try checkVersion(result.model, context)
        let all = Self.outputs(of: result)
        if let unknown = message.outputs?.first(where: { asked in !all.contains { $0.name == asked.name } }) {
            throw APIError(.badRequest, "model \"\(name)\" has no output \"\(unknown.name)\"; it has \(all.map(\.name).sorted())")
        }
        // Every output unless some are named; each as binary data if it asks, else as the request asks.
        let binaryByDefault = message.parameters?.binaryDataOutput ?? false
        let outputs = all.compactMap { output -> KServe.OutputTensor? in
            var output = output
            guard let requested = message.outputs else {
                output.binary = binaryByDefault
                return output
            }
            guard let asked = requested.first(where: { $0.name == output.name }) else { return nil }
            output.binary = asked.binaryData ?? binaryByDefault
            return output
        }
        return KServe.InferResponse(modelName: name, modelVersion: result.model.version, id: message.id, outputs: outputs)
            .response()
    }

    private static func outputs(of result: InferenceResult) -> [KServe.OutputTensor] {
        let rows = result.outputs.count
        let flat = KServe.OutputData.floats(result.outputs.flatMap { $0 })
        let shape = [rows, result.model.dimensions]
        switch result.model.task {
        case .embedding:
            return [KServe.OutputTensor(name: KServe.embeddingOutput, shape: shape, datatype: "FP32", data: flat)]
        case .classification(let labels):
            let best = result.outputs.map { row in
                row.indices.max { row[$0] < row[$1] }.map { labels.indices.contains($0) ? labels[$0] : String($0) } ?? ""
            }
            return [
                KServe.OutputTensor(name: KServe.probabilitiesOutput, shape: shape, datatype: "FP32", data: flat),
                KServe.OutputTensor(name: KServe.labelOutput, shape: [rows], datatype: "BYTES", data: .strings(best)),
            ]
        }
    }

    private func checkVersion(_ info: ModelInfo, _ context: ServerContext) throws {
        guard let version = context.parameters.get("version"), version != info.version else { return }
        throw APIError(.notFound, "model \"\(info.name)\" has no version \(version); it serves version \(info.version)")
    }

    private func indexFilter(_ request: Request) async throws -> Bool? {
        try await JSONRequest.decodeIfPresent(KServe.IndexRequest.self, from: request, limit: configuration.maxBodyBytes)?.ready
    }
}
