import HummingbirdTesting
import ShoalServer
import ShoalTesting
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

    @Test func aTricklingHeadIsCutOffAtTheTimeoutHoweverOftenBytesArrive() async throws {
        let server = try models.server { $0.idleTimeout = .milliseconds(600) }
        try await server.application(services: [server.inference]).test(.live) { client in
            let connection = try LoopbackConnection(port: try #require(client.port), timeout: .seconds(5))
            // A byte every 100 ms keeps the connection from ever being silent for the timeout; sent whole, the
            // head would take over 18 s, so a cut within 8 s (room for a loaded machine) is the timeout's.
            let clock = ContinuousClock()
            let start = clock.now
            var cutOff = false
            for byte in "GET /v2 HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + String(repeating: "a", count: 150) {
                do { try connection.send(String(byte)) } catch { cutOff = true; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let closed = cutOff ? true : await connection.answerAll().closedByServer
            #expect(closed)
            #expect(clock.now - start < .seconds(8))
        }
    }

    @Test func beyondTheConnectionLimitTheLongestWaitingConnectionMakesRoom() async throws {
        let server = try models.server { $0.maxConnections = 2 }
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            // Every wait below ends early when the server answers or closes; it is long because parallel suites
            // can keep a 2-core machine's threads from the server for seconds.
            let patience = Duration.seconds(30)
            // A keep-alive connection that has had its answer: waiting for a head since then, so that the order in
            // which the guard met the connections does not depend on the event loops' timing.
            let silent = try LoopbackConnection(port: port, timeout: patience)
            try silent.send("GET /v2 HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let first = await silent.answer(until: "}")
            #expect(first.hasPrefix("HTTP/1.1 200"), "\(first)")
            let busy = try LoopbackConnection(port: port, timeout: patience)
            // A whole head and part of the body: a request in flight, which is never closed to make room. The
            // server's 100 Continue says it has read the head.
            let inFlight = "POST /v2/models/embed/infer HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n"
                + "Expect: 100-continue\r\n\r\n{"
            try busy.send(inFlight)
            let continued = await busy.answer(until: "100 Continue")
            #expect(continued.contains("100 Continue"), "\(continued)")
            let answer = try await RawExchange.run(
                port: port, sending: "GET /v2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", wait: patience)
            #expect(answer.received.hasPrefix("HTTP/1.1 200"), "\(answer.received)")
            #expect(await silent.answerAll().closedByServer)

            // Now both connections are busy: a third is told why it is refused.
            let busyToo = try LoopbackConnection(port: port, timeout: patience)
            try busyToo.send(inFlight)
            #expect(await busyToo.answer(until: "100 Continue").contains("100 Continue"))
            let refused = try await RawExchange.run(
                port: port, sending: "GET /v2 HTTP/1.1\r\nHost: localhost\r\n\r\n", wait: patience)
            #expect(refused.received.hasPrefix("HTTP/1.1 503"), "\(refused.received)")
            #expect(refused.received.contains("limit of 2 connections"))
            #expect(refused.closedByServer)
            withExtendedLifetime((busy, busyToo)) {}

            // Once the busy clients leave, the metrics tell what the guard did.
            busy.close()
            busyToo.close()
            var samples: [String: Double] = [:]
            for _ in 0..<50 where samples["shoal_connections"] != 1 {
                try await Task.sleep(for: .milliseconds(20))
                let metrics = try await RawExchange.run(
                    port: port, sending: "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    wait: patience)
                samples = prometheusSamples(metrics.received)
            }
            #expect(samples["shoal_connections"] == 1, "only the metrics request's own connection: \(samples)")
            #expect(samples["shoal_connections_refused_total"] == 1)
            #expect((samples["shoal_connections_evicted_total"] ?? 0) >= 1)
        }
    }

    @Test func aHeadOverTheParserLimitIsAnswered431WithAReason() async throws {
        let server = try models.server()
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            let long = String(repeating: "x", count: 100_000)
            for request in ["GET /v2?q=\(long) HTTP/1.1\r\nHost: localhost\r\n\r\n",
                            "GET /v2 HTTP/1.1\r\nHost: localhost\r\nX-Big: \(long)\r\n\r\n"] {
                let answer = try await RawExchange.run(port: port, sending: request, wait: .seconds(30))
                #expect(answer.received.hasPrefix("HTTP/1.1 431"), "\(answer.received.prefix(100))")
                #expect(answer.received.contains("exceed 80 KiB"))
                #expect(answer.closedByServer)
            }
            let garbled = try await RawExchange.run(port: port, sending: "GET /v2 HTTP/9\r\n\r\n", wait: .seconds(30))
            #expect(garbled.received.hasPrefix("HTTP/1.1 400"), "\(garbled.received.prefix(100))")
            #expect(garbled.received.contains("malformed HTTP request"))
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() async throws {
        let server = try models.server()
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            // The head alone, as curl sends it before a large body: the server must say to go on.
            let head = "POST /v2/models/embed/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: 64\r\nExpect: 100-continue\r\n\r\n"
            let connection = try LoopbackConnection(port: port, timeout: .seconds(30))
            try connection.send(head)
            let received = await connection.answer(until: "\r\n\r\n")
            #expect(received.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(received)")
        }
    }
}
