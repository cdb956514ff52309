import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One address for every model of a plan: forwards each request to a group that serves its model, tries the
/// next replica when one cannot be reached, and passes the servers' own answers (errors included) through.
public struct Gateway: HTTPResponder {
    public typealias Context = BasicRequestContext

    public var routes: GatewayRoutes
    /// Most bytes of a request body the gateway buffers to forward.
    public var maxBodyBytes: Int
    private let client: HTTPClient
    private let counter = RoundRobin()

    public init(routes: GatewayRoutes, client: HTTPClient = Gateway.client, maxBodyBytes: Int = 4 << 20) {
        self.routes = routes
        self.client = client
        self.maxBodyBytes = maxBodyBytes
    }

    /// The process's client to the servers. A server that cannot be reached fails the attempt at once (no
    /// retried connects, which would hold the request until the server came back), so the next replica takes
    /// it; up to 256 connections per server, so that the pool never queues what the servers could batch.
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        configuration.timeout.connect = .seconds(2)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// An application serving the gateway at `host:port`; `onServerRunning` gets the bound port.
    public func application(host: String, port: Int, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        Application(
            responder: self,
            configuration: .init(address: .hostname(host, port: port), serverName: "shoal-gateway"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) })
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/v2/health/") { return Self.answer(.ok, ["status": "ok"]) }
        if path.hasPrefix("/v2/async/") { return try await asyncStatus(request) }
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        guard let model = GatewayRoutes.model(path: path, body: Data(buffer: body)) else {
            return Self.answer(.notFound, ["error": "the gateway routes /v2/models/{model}/…, /predictions/{model} "
                + "and /v1/embeddings; \(path) names no model"])
        }
        guard let replicas = routes.replicas[model], !replicas.isEmpty else {
            let known = routes.replicas.keys.sorted().joined(separator: ", ")
            return Self.answer(.notFound, ["error": "model '\(model)' is not in the plan; served: \(known)"])
        }
        let first = counter.next() % replicas.count
        var failures: [String] = []
        for offset in replicas.indices {
            let base = replicas[(first + offset) % replicas.count]
            do {
                return try await forward(request, body: body, to: base)
            } catch where TransportFailure(error).isUnreachable {
                failures.append("\(base): \(error)")
            }
        }
        return Self.answer(.serviceUnavailable, [
            "error": "no replica of model '\(model)' can be reached (\(failures.joined(separator: "; ")))",
        ])
    }

    /// The status of an asynchronous request: its id names no model, so each group is asked in turn and the
    /// first that knows it answers; groups that cannot be reached are skipped.
    private func asyncStatus(_ request: Request) async throws -> Response {
        var unreachable: [String] = []
        for base in Set(routes.replicas.values.joined()).sorted() {
            do {
                let answer = try await forward(request, body: ByteBuffer(), to: base)
                if answer.status != .notFound { return answer }
            } catch where TransportFailure(error).isUnreachable {
                unreachable.append(base)
            }
        }
        let skipped = unreachable.isEmpty ? "" : "; not reached: \(unreachable.joined(separator: ", "))"
        return Self.answer(.notFound, ["error": "no group knows asynchronous request \(request.uri.path.dropFirst("/v2/async/".count))\(skipped)"])
    }

    /// Sends the request to one server and returns its answer as it is.
    private func forward(_ request: Request, body: ByteBuffer, to base: String) async throws -> Response {
        var outgoing = HTTPClientRequest(url: base + (request.uri.string))
        outgoing.method = .init(rawValue: request.method.rawValue)
        for field in request.headers where !["host", "content-length"].contains(field.name.canonicalName) {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        outgoing.body = .bytes(body)
        let answer = try await client.execute(outgoing, timeout: .seconds(60))
        let bytes = try await answer.body.collect(upTo: 256 << 20)
        var headers = HTTPFields()
        for (name, value) in answer.headers where !["content-length", "connection", "transfer-encoding"].contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init(byteBuffer: bytes))
    }

    private static func answer(_ status: HTTPResponse.Status, _ object: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A shared counter that spreads requests over replicas.
final class RoundRobin: @unchecked Sendable {
    /// Guards `count`, which every request handler advances.
    private let lock = NSLock()
    private var count = 0

    func next() -> Int {
        lock.withLock {
            count &+= 1
            return count & Int.max
        }
    }
}
