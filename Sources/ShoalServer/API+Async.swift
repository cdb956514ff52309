import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension API {
    /// `GET /v2/async/{id}` (status, with a JSON result inlined) and `GET /v2/async/{id}/result` (the answer as
    /// it was sent).
    func addAsyncRoutes(to router: Router<ServerContext>) {
        router.get("/v2/async/:id") { _, context in
            let (status, body) = try await asyncStatus(context)
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(data: status.document(body: body))))
        }
        router.get("/v2/async/:id/result") { _, context in
            let (status, body) = try await asyncStatus(context)
            guard let code = status.httpStatus else {
                throw APIError(.notFound, "request \(status.id) is \(status.status); it has no result yet")
            }
            var headers: HTTPFields = [:]
            headers[.contentType] = status.contentType ?? "application/octet-stream"
            return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(data: body ?? Data())))
        }
    }

    /// The status of the request the path names: queued or running, else as stored.
    private func asyncStatus(_ context: ServerContext) async throws -> (AsyncStatus, Data?) {
        guard let worker = asynchronous else { throw APIError(.notFound, "this server takes no asynchronous requests (--async-dir)") }
        let id = context.parameters.get("id") ?? ""
        // Only ids the server could have made reach the store, so that no path is read from a client's words.
        guard let uuid = UUID(uuidString: id), uuid.uuidString.lowercased() == id else {
            throw APIError(.notFound, "no asynchronous request \(id)")
        }
        if let (running, accepted) = worker.queue.status(of: id) {
            return (AsyncStatus(id: id, status: running ? "running" : "queued", accepted: accepted), nil)
        }
        guard let (status, body) = try await worker.storedStatus(id) else {
            throw APIError(.notFound, "no asynchronous request \(id)")
        }
        return (status, body)
    }
}

/// Takes a POST to an inference route that asks `Prefer: respond-async` into the durable queue and answers
/// 202 with the request's id and status URL once it is written; every other request passes on. Without an
/// asynchronous queue the preference is ignored, as RFC 7240 allows, and the request is answered at once.
struct AsyncMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let worker: AsyncWorker
    let api: API

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard request.method == .post, let preference = request.headers[Self.prefer],
              preference.lowercased().contains("respond-async"), let model = Self.inferenceModel(request.uri.path) else {
            return try await next(request, context)
        }
        if let name = model.flatMap({ $0.removingPercentEncoding }), try await api.inference.index(model: name) == nil {
            throw APIError(.notFound, "unknown model \"\(name)\"")
        }
        let location = try request.headers[Self.inputLocation].map(inputPath)
        let body = try await request.body.collect(upTo: api.configuration.maxBodyBytes)
        if location != nil && body.readableBytes > 0 {
            throw APIError(.badRequest, "send the input either as the body or as Shoal-Input-Location, not both")
        }
        let callback = try request.headers[Self.callback].map(checkedCallback)
        var deadline = worker.settings.defaultDeadline
        if let raw = request.headers[Self.deadline] {
            guard let seconds = Int(raw), seconds > 0 else {
                throw APIError(.badRequest, "Shoal-Deadline-Seconds must be a positive whole number of seconds, not \(raw)")
            }
            deadline = .seconds(seconds)
        }
        let accepted = Date()
        let job = AsyncJob(
            id: UUID().uuidString.lowercased(), path: request.uri.description, contentType: request.headers[.contentType],
            inferenceHeaderLength: request.headers[Self.inferenceHeaderLength], inputLocation: location,
            callback: callback, accepted: accepted, deadline: accepted.addingTimeInterval(deadline.seconds))
        do {
            try worker.queue.submit(job, body: Data(buffer: body))
        } catch is AsyncQueue.Full {
            worker.count("refused")
            throw APIError(.tooManyRequests, "the asynchronous queue is full (\(worker.settings.maxQueued) requests); try again later",
                           headers: [.retryAfter: "5"])
        } catch {
            throw APIError(.init(code: 507), "the asynchronous request could not be written: \(error.localizedDescription)")
        }
        worker.count("accepted")
        let url = "/v2/async/\(job.id)"
        var headers: HTTPFields = [.location: url]
        headers[Self.preferenceApplied] = "respond-async"
        return JSONResponse.make(Accepted(id: job.id, status: "queued", statusURL: url), status: .accepted, headers: headers)
    }

    /// The body of a 202.
    struct Accepted: Encodable {
        var id: String
        var status: String
        var statusURL: String
        enum CodingKeys: String, CodingKey { case id, status, statusURL = "status_url" }
    }

    /// For an inference route, the model its path names (nil inside for `/v1/embeddings`, which names it in
    /// the body); nil for every other path.
    static func inferenceModel(_ path: String) -> String?? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        switch parts.count {
        case 2 where parts == ["v1", "embeddings"]: return .some(nil)
        case 2 where parts[0] == "predictions": return parts[1]
        case 4 where parts[0] == "v2" && parts[1] == "models" && parts[3] == "infer": return parts[2]
        case 6 where parts[0] == "v2" && parts[1] == "models" && parts[3] == "versions" && parts[5] == "infer": return parts[2]
        default: return nil
        }
    }

    /// The path inside the store of an input location: `s3://BUCKET/PREFIX/KEY` or `/STORE/KEY` within the
    /// store the server reads inputs from, or a path relative to it.
    private func inputPath(_ raw: String) throws -> String {
        guard let inputs = worker.settings.inputs else {
            throw APIError(.badRequest, "this server reads no input locations; send the input as the body")
        }
        let root = inputs.description.hasSuffix("/") ? inputs.description : inputs.description + "/"
        let path = raw.hasPrefix(root) ? String(raw.dropFirst(root.count)) : raw
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("://"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw APIError(.badRequest, "Shoal-Input-Location \(raw) is not an object inside \(inputs.description)")
        }
        return path
    }

    /// A callback URL, which must be absolute http or https, to a host the server was told it may call.
    private func checkedCallback(_ raw: String) throws -> String {
        guard let url = URL(string: raw), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
            throw APIError(.badRequest, "Shoal-Callback-URL must be an absolute http or https URL, not \(raw)")
        }
        let hosts = worker.settings.callbackHosts
        guard hosts.allows(url) else {
            throw APIError(.badRequest, hosts.isEmpty
                ? "this server makes no callbacks; its operator allows hosts with --async-callback-hosts"
                : "Shoal-Callback-URL \(raw) is not to a host this server calls back (\(hosts))")
        }
        return raw
    }

    static let prefer = HTTPField.Name("Prefer")!
    static let preferenceApplied = HTTPField.Name("Preference-Applied")!
    static let callback = HTTPField.Name("Shoal-Callback-URL")!
    static let deadline = HTTPField.Name("Shoal-Deadline-Seconds")!
    static let inputLocation = HTTPField.Name("Shoal-Input-Location")!
    static let inferenceHeaderLength = HTTPField.Name("Inference-Header-Content-Length")!
}
