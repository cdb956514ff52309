import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ShoalStore

/// One address for every model of a plan: forwards each request to a group that serves its model, tries the
/// next replica when one cannot be reached, and passes the servers' own answers (errors included) through.
/// With a `GroupStarter`, serverless groups are started on their first request and stopped when idle
/// (`ServerlessGroups`); with a `serverlessProxy` instead (the KEDA HTTP add-on's interceptor on Kubernetes),
/// their requests go through that proxy, which holds them while the group scales up from zero.
public struct Gateway: HTTPResponder {
    public typealias Context = BasicRequestContext

    public var routes: GatewayRoutes
    /// Most bytes of a request body the gateway buffers to forward.
    public var maxBodyBytes: Int
    /// The serverless groups this gateway starts and stops; nil when it has none or a proxy scales them.
    public let serverless: ServerlessGroups?
    /// The base URL serverless groups are reached through, with the group's own host in `Host`.
    public var serverlessProxy: String?
    private let client: HTTPClient
    private let counter = RoundRobin()

    /// The header of a response whose request found its group cold: milliseconds from the request's arrival to
    /// its answer, the group's start and the first inference included.
    public static let coldStartHeader = "Shoal-Cold-Start-Ms"

    public init(routes: GatewayRoutes, client: HTTPClient = Gateway.client, maxBodyBytes: Int = 4 << 20,
                starter: (any GroupStarter)? = nil, serverlessProxy: String? = nil) {
        self.routes = routes
        self.client = client
        self.maxBodyBytes = maxBodyBytes
        serverless = starter.flatMap { routes.serverless.isEmpty ? nil : ServerlessGroups(routes: routes, starter: $0) }
        self.serverlessProxy = serverlessProxy
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
            services: serverless.map { [$0] } ?? [],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) })
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/v2/health/") { return Self.answer(.ok, ["status": "ok"]) }
        if path.hasPrefix("/v2/async/") { return try await asyncStatus(request) }
        if path == "/gateway/serverless" { return try await serverlessStatus() }
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
            guard let group = routes.serverless[base]?.group, let serverless else {
                do {
                    return try await forward(request, body: body, to: base)
                } catch where TransportFailure(error).isUnreachable {
                    failures.append("\(base): \(error)")
                }
                continue
            }
            if let response = try await forwardServerless(request, body: body, to: base, group: group, serverless: serverless,
                                                          failures: &failures) {
                return response
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

    /// Forwards to a serverless group once `ServerlessGroups` admits the request (at once when warm, after the
    /// group's one start when cold; 429 beyond its queue), with the cold-start header when it waited; nil, with
    /// the reason in `failures`, when the group cannot serve it. A warm group whose server has gone (it crashed)
    /// is marked cold and started again, once.
    private func forwardServerless(_ request: Request, body: ByteBuffer, to base: String, group: String,
                                   serverless: ServerlessGroups, failures: inout [String]) async throws -> Response? {
        let arrival = ContinuousClock.now
        for attempt in 1...2 {
            switch await serverless.admit(group) {
            case .overloaded:
                return Self.answer(.tooManyRequests, ["error": "serverless group \(group) is starting and holds "
                    + "\(routes.serverless[base]?.settings.maxQueued ?? 0) requests already (max_queued); retry shortly"], retryAfter: true)
            case .failed(let reason):
                failures.append(reason)
                return nil
            case .ready(let waited):
                do {
                    var response = try await forward(request, body: body, to: base)
                    await serverless.finished(group)
                    if waited != nil, let name = HTTPField.Name(Self.coldStartHeader) {
                        let took = ContinuousClock.now - arrival
                        response.headers[name] = String(format: "%.1f", Double(took.components.seconds) * 1e3 + Double(took.components.attoseconds) / 1e15)
                    }
                    return response
                } catch where TransportFailure(error).isUnreachable {
                    await serverless.finished(group)
                    if attempt == 1, waited == nil, await serverless.lost(group) { continue }
                    failures.append("\(base): \(error)")
                    return nil
                } catch {
                    await serverless.finished(group)
                    throw error
                }
            }
        }
        return nil
    }

    /// Every serverless group's state, as JSON by group name.
    private func serverlessStatus() async throws -> Response {
        let status = await serverless?.status() ?? [:]
        let data = try ShoalJSON.encoder(pretty: false).encode(status)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Sends the request to one server (a serverless one through `serverlessProxy`, when set) and returns its
    /// answer as it is.
    private func forward(_ request: Request, body: ByteBuffer, to base: String) async throws -> Response {
        let proxy = routes.serverless[base] == nil ? nil : serverlessProxy
        var outgoing = HTTPClientRequest(url: (proxy ?? base) + (request.uri.string))
        if proxy != nil, let url = URL(string: base), let host = url.host {
            outgoing.headers.add(name: "host", value: url.port.map { "\(host):\($0)" } ?? host)
        }
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

    private static func answer(_ status: HTTPResponse.Status, _ object: [String: String], retryAfter: Bool = false) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if retryAfter { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
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
