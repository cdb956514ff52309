import Foundation
import Hummingbird
import NIOCore

extension API {
    /// `GET /metrics` (Prometheus text) and `GET /openapi.json`.
    func addOperationRoutes(to router: Router<ServerContext>) {
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        router.get("/openapi.json") { _, _ in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
                  let document = try? Data(contentsOf: url)
            else { throw APIError(.internalServerError, "the OpenAPI document is missing from the build") }
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }
}
