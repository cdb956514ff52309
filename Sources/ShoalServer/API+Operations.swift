import Foundation
import Hummingbird
import NIOCore

extension API {
    /// `GET /metrics` (Prometheus text) and `GET /openapi.json`.
    func addOperationRoutes(to router: Router<ServerContext>) {
        router.get("/metrics") { _, _ in
            asynchronous?.refreshGauges()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition(models: inference.busiestModels(configuration.metricsModels)))))
        }
        router.get("/openapi.json") { _, _ in
            guard let document = Self.openAPIDocument else {
                throw APIError(.internalServerError, "the OpenAPI document is missing from the build")
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }

    /// `openapi.json`, the document of every route, kept beside the sources.
    private static let openAPIDocument: Data? = Bundle.module.url(forResource: "openapi", withExtension: "json")
        .flatMap { try? Data(contentsOf: $0) }
}
