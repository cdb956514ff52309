import Foundation
@testable import ShoalServer
import Testing

/// The durable queue of asynchronous requests, on its own: its limit, what a restart finds, and what it removes.
@Suite struct AsyncQueueTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-async-queue-\(UUID().uuidString)")

    func job(_ number: Int) -> AsyncJob {
        AsyncJob(id: UUID().uuidString.lowercased(), path: "/predictions/m", contentType: "application/json",
                 accepted: Date(timeIntervalSince1970: Double(1_000 + number)), deadline: .distantFuture)
    }

    @Test func aFullQueueRefusesAndARestartFindsTheJobsInOrder() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let queue = try AsyncQueue(folder: folder, limit: 3)
        let jobs = (0..<3).map(job)
        // Submitted out of order: a restart runs them by the time they were accepted.
        for job in [jobs[1], jobs[0], jobs[2]] { try queue.submit(job, body: Data("body \(job.id)".utf8)) }
        #expect(throws: AsyncQueue.Full.self) { try queue.submit(self.job(4), body: Data()) }
        #expect(queue.depth().count == 3)

        let first = try #require(await queue.next())
        try queue.markStored(first)
        // A write the crash interrupted is not a job.
        try Data("half".utf8).write(to: folder.appendingPathComponent("\(UUID().uuidString).json.tmp"))

        let restarted = try AsyncQueue(folder: folder, limit: 3)
        #expect(try !FileManager.default.contentsOfDirectory(atPath: folder.path).contains { $0.hasSuffix(".tmp") })
        var order: [AsyncJob] = []
        for _ in 0..<3 { order.append(try #require(await restarted.next())) }
        #expect(order.map(\.id) == [jobs[0].id, jobs[1].id, jobs[2].id])
        #expect(order.map(\.stored) == [first.id == jobs[0].id, first.id == jobs[1].id, first.id == jobs[2].id])
        #expect(try restarted.body(of: order[2]) == Data("body \(jobs[2].id)".utf8))
        #expect(restarted.status(of: jobs[2].id)?.running == true)

        for job in order { restarted.finish(job) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        #expect(restarted.depth().count == 0)
        try restarted.submit(job(5), body: Data())  // room again
    }

    @Test func closeWakesAWaitingWorker() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let queue = try AsyncQueue(folder: folder, limit: 1)
        async let waiting = queue.next()
        try await Task.sleep(for: .milliseconds(20))
        queue.close()
        #expect(await waiting == nil)
    }

    @Test func theStatusDocumentInlinesAJSONResultOnly() throws {
        var status = AsyncStatus(id: "x", status: "succeeded", httpStatus: 200, contentType: "application/json",
                                 accepted: Date(timeIntervalSince1970: 0))
        let inlined = try #require(try JSONSerialization.jsonObject(with: status.document(body: Data(#"{"a":[1,2]}"#.utf8))) as? [String: Any])
        #expect((inlined["result"] as? [String: Any])?["a"] as? [Int] == [1, 2])
        #expect(inlined["http_status"] as? Int == 200 && inlined["accepted"] as? String == "1970-01-01T00:00:00Z")
        status.contentType = "application/octet-stream"
        let plain = try #require(try JSONSerialization.jsonObject(with: status.document(body: Data([0, 1, 2]))) as? [String: Any])
        #expect(plain["result"] == nil)
    }
}
