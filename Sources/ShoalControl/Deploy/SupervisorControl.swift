import Foundation
import Hummingbird
import NIOCore

/// The supervisor's control endpoint, on loopback only: `POST /members/{name}/start` starts an on-demand
/// member and answers when its server is ready (200, `{"pid": …}`), or 503 with the reason it is not;
/// `POST /members/{name}/stop` ends it. The gateway calls it to run serverless groups.
struct SupervisorControl: HTTPResponder {
    typealias Context = BasicRequestContext

    let supervisor: Supervisor

    func respond(to request: Request, context: Context) async throws -> Response {
        let parts = request.uri.path.split(separator: "/").map(String.init)
        guard request.method == .post, parts.count == 3, parts[0] == "members", ["start", "stop"].contains(parts[2]) else {
            return Self.answer(.notFound, ["error": "the supervisor answers POST /members/{name}/start and /members/{name}/stop"])
        }
        if parts[2] == "stop" {
            await supervisor.stop(member: parts[1])
            return Self.answer(.ok, [:])
        }
        do {
            let pid = try await supervisor.start(member: parts[1])
            return Self.answer(.ok, ["pid": Int(pid)])
        } catch let error as ControlError {
            if case .unknownName = error { return Self.answer(.notFound, ["error": error.description]) }
            return Self.answer(.serviceUnavailable, ["error": error.description])
        }
    }

    static func answer(_ status: HTTPResponse.Status, _ object: [String: any Sendable]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
