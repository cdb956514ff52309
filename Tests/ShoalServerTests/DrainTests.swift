import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ServiceLifecycle
import ShoalServer
import ShoalTesting
import Testing

@Suite(.timeLimit(.minutes(2))) struct DrainTests {
    @Test func gracefulShutdownLosesNoAcceptedRequest() async throws {
        let models = try TestModels()
        // Every input waits up to 10 s for a fuller batch, so the requests are still queued when shutdown begins.
        let server = try models.server {
            $0.drainDelay = .seconds(2)
            $0.inference.limits.maxQueueDelay = .seconds(10)
        }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(configuration: .init(
            services: server.services { portSink.yield($0) }, logger: server.configuration.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try #require(await ports.first { _ in true })
            try await TestClient.withClient(host: "127.0.0.1", port: port) { probe in
                #expect(try await probe.get("/v2/health/ready").status == .ok)
                try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { clients in
                    for index in 0..<12 {
                        clients.addTask {
                            try await TestClient.withClient(host: "127.0.0.1", port: port) { connection in
                                try await connection.post("/v2/models/embed/infer", json: inferBody(["a \(index)", "b", "c", "d"])).status
                            }
                        }
                    }
                    let queued = ContinuousClock.now + .seconds(30)
                    while prometheusSamples(String(buffer: try await probe.get("/metrics").body ?? ByteBuffer()))["shoal_queued_inputs"] != 48 {
                        guard ContinuousClock.now < queued else {
                            Issue.record("the 12 requests were not all queued within 30 s")
                            break
                        }
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    await group.triggerGracefulShutdown()
                    // Draining: readiness turns 503 (once the services see the shutdown) while the admitted
                    // requests are still queued.
                    var readiness = try await probe.get("/v2/health/ready").status
                    let deadline = ContinuousClock.now + .seconds(10)
                    while readiness != .serviceUnavailable && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(5))
                        readiness = try await probe.get("/v2/health/ready").status
                    }
                    #expect(readiness == .serviceUnavailable)
                    var answered = 0
                    for try await status in clients {
                        #expect(status == .ok)
                        answered += 1
                    }
                    #expect(answered == 12)
                }
            }
            try await tasks.next()
        }
    }

    @Test func drainingAnswersCloseKeepAliveConnections() async throws {
        let models = try TestModels()
        let server = try models.server { $0.drainDelay = .seconds(60) }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(configuration: .init(
            services: server.services { portSink.yield($0) }, logger: server.configuration.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try #require(await ports.first { _ in true })
            let live = "GET /v2/health/live HTTP/1.1\r\nHost: localhost\r\n\r\n"
            // Serving, the connection stays open: a second request on it is answered too.
            let serving = try await RawExchange.repeated(port: port, sending: live, until: "}", times: 2, timeout: .seconds(30))
            for answer in serving {
                #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix("}"), "\(answer)")
                #expect(!answer.lowercased().contains("connection: close"), "\(answer)")
            }

            await group.triggerGracefulShutdown()
            let ready = "GET /v2/health/ready HTTP/1.1\r\nHost: localhost\r\n\r\n"
            var probe = try await RawExchange.run(port: port, sending: ready, wait: .seconds(5))
            let deadline = ContinuousClock.now + .seconds(10)
            while !probe.received.hasPrefix("HTTP/1.1 503") && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
                probe = try await RawExchange.run(port: port, sending: ready, wait: .seconds(5))
            }
            #expect(probe.received.hasPrefix("HTTP/1.1 503"))
            // Every answer while draining says close, and the server closes: a keep-alive client reconnects.
            let body = inferBody(["a"])
            let infer = "POST /v2/models/embed/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            for exchange in [probe, try await RawExchange.run(port: port, sending: infer, wait: .seconds(30))] {
                #expect(exchange.received.lowercased().contains("\r\nconnection: close\r\n"), "\(exchange.received)")
                #expect(exchange.closedByServer)
            }
            tasks.cancelAll()
        }
    }
}
