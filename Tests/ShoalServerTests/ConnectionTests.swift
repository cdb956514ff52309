import HummingbirdTesting
import ShoalServer
import Testing

@Suite(.timeLimit(.minutes(2))) struct ConnectionTests {
    let models: TestModels

    init() throws {
        models = try TestModels()
    }

    @Test func silentConnectionsAreClosedAfterTheIdleTimeout() async throws {
        #expect(ServerConfiguration().idleTimeout == .seconds(75))
        let server = try models.server { $0.idleTimeout = .milliseconds(300) }
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            // A client that never finishes its request head holds the connection no longer than the timeout.
            let trickled = try await RawExchange.run(port: port, sending: "GET /v2 HTTP/1.1\r\nHost: loc", wait: .seconds(10))
            #expect(trickled.closedByServer)
            #expect(trickled.received.isEmpty)
            // Nor does one that keeps a connection open after its answer.
            let idle = try await RawExchange.run(port: port, sending: "GET /v2 HTTP/1.1\r\nHost: localhost\r\n\r\n", wait: .seconds(10))
            #expect(idle.received.hasPrefix("HTTP/1.1 200"))
            #expect(idle.closedByServer)
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() async throws {
        let server = try models.server()
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            // The head alone, as curl sends it before a large body: the server must say to go on.
            let head = "POST /v2/models/embed/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: 64\r\nExpect: 100-continue\r\n\r\n"
            let exchange = try await RawExchange.run(port: port, sending: head, wait: .seconds(2))
            #expect(exchange.received.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(exchange.received)")
        }
    }
}
