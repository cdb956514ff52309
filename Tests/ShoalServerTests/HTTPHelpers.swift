import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

extension TestClientProtocol {
    /// POSTs `json` to `uri`.
    func post(_ uri: String, json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        fields[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: fields, body: ByteBuffer(string: json))
    }

    /// POSTs `bytes` as a JSON body to `uri`, whether or not they are valid JSON or UTF-8.
    func post(_ uri: String, bytes: [UInt8]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: bytes))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }
}

extension TestResponse {
    /// The body parsed as a JSON object.
    func object() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
    }

    /// The body parsed as a JSON array of objects.
    func array() throws -> [[String: Any]] {
        try #require(JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [[String: Any]])
    }

    /// The `error` message of an error body.
    func errorMessage() throws -> String {
        try #require(try object()["error"] as? String)
    }

    var text: String { String(buffer: body) }
}

/// Body of a KServe v2 infer request with one BYTES input.
func inferBody(_ texts: [String], extra: String = "") -> String {
    let data = texts.map { "\"\($0)\"" }.joined(separator: ",")
    return #"{"id":"req-1","inputs":[{"name":"text","shape":[\#(texts.count)],"datatype":"BYTES","data":[\#(data)]}]\#(extra)}"#
}

/// The samples of a Prometheus text exposition, keyed by `name{labels}` as written.
func prometheusSamples(_ text: String) -> [String: Double] {
    var samples: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        samples[String(line[..<space])] = value
    }
    return samples
}

/// Runs `body` with `count` clients, each on its own connection to `port`.
func withClients<T: Sendable>(
    port: Int, count: Int, _ body: @escaping @Sendable (Int, TestClient) async throws -> T
) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        for index in 0..<count {
            group.addTask {
                try await TestClient.withClient(host: "127.0.0.1", port: port) { client in (index, try await body(index, client)) }
            }
        }
        var results: [(Int, T)] = []
        for try await result in group { results.append(result) }
        return results.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

extension TestClient {
    func post(_ uri: String, json: String, headers: HTTPFields = [:]) async throws -> TestClient.Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return try await execute(.init(uri, method: .post, authority: "localhost", headers: fields, body: ByteBuffer(string: json)))
    }
}
