import AsyncHTTPClient
import Foundation
import NIOCore

/// Starts and stops serverless groups through the control endpoint of the local deployment's supervisor, whose
/// port its state file in `directory` records.
public struct SupervisorClient: GroupStarter {
    public var directory: DeployDirectory
    private let client: HTTPClient

    public init(directory: DeployDirectory, client: HTTPClient = Gateway.client) {
        self.directory = directory
        self.client = client
    }

    public func start(group: String) async throws {
        try await call(group, "start", timeout: .seconds(90))
    }

    public func stop(group: String) async throws {
        try await call(group, "stop", timeout: .seconds(30))
    }

    private func call(_ group: String, _ action: String, timeout: TimeAmount) async throws {
        guard let port = try directory.read(DeploymentState.self, from: directory.state)?.controlPort else {
            throw ControlError.serverless("\(directory.state.path) records no supervisor control endpoint; is the deployment running?")
        }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/members/\(group)/\(action)")
        request.method = .POST
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
            throw ControlError.serverless(object?["error"] as? String ?? "the supervisor answered \(response.status.code)")
        }
    }
}
