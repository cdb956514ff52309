import Foundation
import HTTPTypes
import HummingbirdTesting
import ServiceLifecycle
import ShoalServer
import Testing

@Suite struct DrainTests {
    @Test func gracefulShutdownLosesNoAcceptedRequest() async throws {
        let models = try TestModels()
        let server = try models.server { $0.drainDelay = .milliseconds(300) }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(configuration: .init(
            services: server.services { portSink.yield($0) }, logger: server.configuration.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try #require(await ports.first { _ in true })
            try await TestClient.withClient(host: "127.0.0.1", port: port) { probe in
                #expect(try await probe.get("/v2/health/ready").status == .ok)
                let (started, startedSink) = AsyncStream.makeStream(of: Void.self)
                try await withThrowingTaskGroup(of: [HTTPResponse.Status].self) { clients in
                    for _ in 0..<8 {
                        clients.addTask {
                            try await TestClient.withClient(host: "127.0.0.1", port: port) { connection in
                                var statuses: [HTTPResponse.Status] = []
                                for round in 0..<10 {
                                    if round == 1 { startedSink.yield() }
                                    statuses.append(try await connection.post(
                                        "/v2/models/embed/infer", json: inferBody(["round \(round)", "good day"])).status)
                                }
                                return statuses
                            }
                        }
                    }
                    // Shut down while every client is mid-stream.
                    var streaming = 0
                    for await _ in started {
                        streaming += 1
                        if streaming == 8 { break }
                    }
                    await group.triggerGracefulShutdown()
                    // Draining: readiness is 503 while the server still answers.
                    #expect(try await probe.get("/v2/health/ready").status == .serviceUnavailable)
                    var answered = 0
                    for try await statuses in clients {
                        #expect(statuses.allSatisfy { $0 == .ok })
                        answered += statuses.count
                    }
                    #expect(answered == 80)
                }
            }
            try await tasks.next()
        }
    }
}
