import ArgumentParser
import Foundation
import Hummingbird
import ShoalControl

struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Serve every model of a plan at one address, forwarding each request to a group that serves it.",
        discussion: """
            The model comes from the path (/v2/models/{model}/…, /predictions/{model}) or the `model` field of \
            POST /v1/embeddings; a replica that cannot be reached is skipped for the next one, and the servers' \
            answers, errors included, pass through unchanged. `shoal deploy run` starts it on server.gateway_port. \
            Serverless groups (docs/SERVERLESS.md) are started on their first request through the supervisor of \
            --supervisor DIR and stopped when idle; with --serverless-proxy their requests go through that proxy \
            instead (the KEDA HTTP add-on's interceptor, which scales them from zero). GET /gateway/serverless \
            reports each serverless group's state.
            Example: shoal gateway --plan plan.json --port 8000
            """)

    @OptionGroup var options: ConfigOptions
    @Option(name: .long, help: "The plan whose groups the gateway routes to.")
    var plan = "plan.json"
    @Option(name: .long, help: "The address to bind, where the groups listen too (default: server.host).")
    var host: String?
    @Option(name: .long, help: "The port to bind (default: server.gateway_port).")
    var port: Int?
    @Option(name: .long, help: "Each group's URL, {group} and {port} replaced (default: http://HOST:{port}).")
    var groupURL: String?
    @Option(name: .long, help: "The deploy folder whose supervisor starts and stops serverless groups (set by `shoal deploy run`).")
    var supervisor: String?
    @Option(name: .long, help: "Send serverless groups' requests through this proxy, with the group's host in Host (Kubernetes: the KEDA HTTP add-on's interceptor).")
    var serverlessProxy: String?

    func validate() throws {
        if let port, !(0...65_535).contains(port) { throw ValidationError("--port must be within 0...65535") }
        if let groupURL, !groupURL.hasPrefix("http://") {
            throw ValidationError("--group-url must be an http:// URL such as http://shoal-{group}:{port}")
        }
        if let serverlessProxy, !serverlessProxy.hasPrefix("http://") {
            throw ValidationError("--serverless-proxy must be an http:// URL such as http://keda-add-ons-http-interceptor-proxy.keda:8080")
        }
        if supervisor != nil, serverlessProxy != nil { throw ValidationError("pass --supervisor or --serverless-proxy, not both") }
    }

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: plan) else {
            throw ValidationError("no plan at \(plan); write one with `shoal pack`")
        }
        let placement = try PlacementPlan.decode(data, path: plan)
        let server = host == nil || port == nil ? try options.load().configuration.server : nil
        let host = host ?? server?.host ?? "127.0.0.1"
        let routes = groupURL.map { GatewayRoutes(plan: placement, groupURL: $0) } ?? GatewayRoutes(plan: placement, host: host)
        let starter = supervisor.map { SupervisorClient(directory: DeployDirectory(root: URL(fileURLWithPath: $0))) }
        let gateway = Gateway(routes: routes, starter: starter, serverlessProxy: serverlessProxy)
        let application = gateway.application(host: host, port: port ?? server?.gatewayPort ?? 8000) { port in
            FileHandle.standardError.write(Data("gateway serving \(placement.groups.count) groups at http://\(host):\(port)\n".utf8))
        }
        try await application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
