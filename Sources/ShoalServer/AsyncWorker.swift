import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import ShoalInference
import ShoalStore
import Synchronization

/// What a client reads of an asynchronous request: its state and, once it has ended, the HTTP status and
/// content type of the answer (stored beside it as `ID.body`).
struct AsyncStatus: Codable, Sendable {
    var id: String
    /// `queued`, `running`, `succeeded` (a 2xx answer), `failed` (any other answer) or `expired` (not started
    /// by its deadline).
    var status: String
    var httpStatus: Int?
    var contentType: String?
    var accepted: Date
    var finished: Date?
    var error: String?

    enum CodingKeys: String, CodingKey {
        case id, status, accepted, finished, error
        case httpStatus = "http_status"
        case contentType = "content_type"
    }

    /// The status as JSON, with a JSON answer `body` inlined as `result`.
    func document(body: Data?) -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(self) else { return Data() }
        if let body, !body.isEmpty, contentType?.hasPrefix("application/json") == true {
            data.removeLast()  // the closing brace
            data += Data(#","result":"#.utf8) + body + Data("}".utf8)
        }
        return data
    }
}

/// Runs the asynchronous queue: each job is replayed against this server over loopback (so it takes exactly
/// the path a real-time request takes) once the real-time queues are empty, its answer is stored, its callback
/// called, and only then does it leave the queue. Answers 429 and 503 are not final: the job waits and runs
/// again until its deadline.
final class AsyncWorker: Service, Sendable {
    let queue: AsyncQueue
    let settings: AsyncSettings
    private let inference: Inference
    private let apiKey: String?
    private let host: String
    private let port = Mutex<Int?>(nil)
    private let logger: Logger
    private let outcomes: [String: Metrics.Counter]
    private let queued: Gauge
    private let oldest: Gauge

    init(settings: AsyncSettings, inference: Inference, configuration: ServerConfiguration, metrics: ServerMetrics) throws {
        queue = try AsyncQueue(folder: settings.queue, limit: settings.maxQueued)
        self.settings = settings
        self.inference = inference
        apiKey = configuration.apiKeys.first
        host = configuration.host == "0.0.0.0" || configuration.host.isEmpty ? "127.0.0.1"
            : configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        logger = configuration.logger
        outcomes = Dictionary(uniqueKeysWithValues: ["accepted", "refused", "succeeded", "failed", "expired", "callback_failed"].map {
            ($0, Metrics.Counter(label: "shoal_async_requests_total", dimensions: [("outcome", $0)], factory: metrics.factory))
        })
        queued = Gauge(label: "shoal_async_queued", factory: metrics.factory)
        oldest = Gauge(label: "shoal_async_oldest_seconds", factory: metrics.factory)
    }

    /// The port the server listens on, once it does: jobs wait for it.
    func serverRunning(on port: Int) {
        self.port.withLock { $0 = port }
    }

    /// Counts one asynchronous request by what became of it.
    func count(_ outcome: String) {
        outcomes[outcome]?.increment()
    }

    /// Sets the queue's gauges: jobs queued or running, and the age of the oldest waiting one.
    func refreshGauges() {
        let depth = queue.depth()
        queued.record(depth.count)
        oldest.record(depth.oldest.map { Date().timeIntervalSince($0) } ?? 0)
    }

    /// Runs `concurrency` jobs at a time until a graceful shutdown; a job under way is finished, or put back.
    func run() async throws {
        await withTaskGroup(of: Void.self) { tasks in
            for _ in 0..<max(1, settings.concurrency) {
                tasks.addTask { await self.work() }
            }
            tasks.addTask {
                try? await gracefulShutdown()
                self.queue.close()
            }
            await tasks.next()
            await tasks.waitForAll()
        }
    }

    private var closing: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    private func work() async {
        while let job = await queue.next() {
            do {
                if !job.stored {
                    guard let (status, body) = await answer(job) else {
                        queue.requeue(job)
                        if closing { return }
                        try? await Task.sleep(for: .milliseconds(100))
                        continue
                    }
                    try await store(status, body: body)
                    count(status.status)
                    try queue.markStored(job)
                    await callBack(job, status: status, body: body)
                } else if let stored = try await storedStatus(job.id) {
                    await callBack(job, status: stored.status, body: stored.body)
                }
                queue.finish(job)
            } catch {
                logger.error("cannot store an asynchronous result; retrying", metadata: ["id": "\(job.id)", "error": "\(error)"])
                queue.requeue(job)
                if closing { return }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// The final answer to `job`, or nil when it should run again later (overloaded, draining, no port yet).
    private func answer(_ job: AsyncJob) async -> (AsyncStatus, Data)? {
        var status = AsyncStatus(id: job.id, status: "running", accepted: job.accepted)
        guard Date() <= job.deadline else {
            status.status = "expired"
            status.finished = Date()
            status.error = "not started by its deadline"
            return (status, Data())
        }
        guard let port = port.withLock({ $0 }) else { return nil }
        while inference.queuedInputs > 0 && !closing {  // real-time requests first
            try? await Task.sleep(for: .milliseconds(2))
        }
        if closing { return nil }
        do {
            let body = try await requestBody(job)
            var request = HTTPClientRequest(url: "http://\(host):\(port)\(job.path)")
            request.method = .POST
            request.headers.add(name: "X-Request-ID", value: job.id)
            if let contentType = job.contentType { request.headers.add(name: "Content-Type", value: contentType) }
            if let length = job.inferenceHeaderLength { request.headers.add(name: "Inference-Header-Content-Length", value: length) }
            if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
            request.body = .bytes(ByteBuffer(data: body))
            let timeout = TimeAmount.seconds(max(60, Int64(inference.configuration.limits.requestTimeout.seconds) * 2))
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let answer = Data(buffer: try await response.body.collect(upTo: 256 << 20))
            if response.status.code == 429 || response.status.code == 503 { return nil }
            status.status = (200..<300).contains(response.status.code) ? "succeeded" : "failed"
            status.httpStatus = Int(response.status.code)
            status.contentType = response.headers.first(name: "Content-Type")
            status.finished = Date()
            return (status, answer)
        } catch let error as AsyncInputError {
            status.status = "failed"
            status.httpStatus = error.status
            status.error = error.message
            status.finished = Date()
            return (status, Data())
        } catch {
            logger.warning("asynchronous request could not be sent; retrying", metadata: ["id": "\(job.id)", "error": "\(error)"])
            return nil
        }
    }

    /// The body of `job`: the one it was sent with, or the object its input location names.
    private func requestBody(_ job: AsyncJob) async throws -> Data {
        guard let location = job.inputLocation else { return try queue.body(of: job) }
        guard let inputs = settings.inputs else { throw AsyncInputError(status: 400, message: "this server reads no input locations") }
        guard let data = try await inputs.read(location) else {
            throw AsyncInputError(status: 404, message: "the input location \(location) does not exist in \(inputs.description)")
        }
        return data
    }

    /// Stores the answer, then the status that makes it visible; a result stored before (by a run that crashed
    /// before it could record so) stays.
    private func store(_ status: AsyncStatus, body: Data) async throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        for (data, name) in [(body, "\(status.id).body"), (try encoder.encode(status), "\(status.id).json")] {
            do {
                try await settings.results.write(data, to: "\(settings.resultsPrefix)/\(name)")
            } catch let error as StoreError {
                guard case .objectExists = error else { throw error }
            }
        }
    }

    /// The stored status and answer of `id`, if it has one.
    func storedStatus(_ id: String) async throws -> (status: AsyncStatus, body: Data)? {
        guard let data = try await settings.results.read("\(settings.resultsPrefix)/\(id).json") else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let status = try decoder.decode(AsyncStatus.self, from: data)
        let body = try await settings.results.read("\(settings.resultsPrefix)/\(id).body") ?? Data()
        return (status, body)
    }

    /// POSTs the status (with its result) to the job's callback, retrying with doubling waits; the receiver can
    /// tell a repeat by `Shoal-Async-Id`.
    private func callBack(_ job: AsyncJob, status: AsyncStatus, body: Data) async {
        guard let url = job.callback else { return }
        var delay = settings.callbackDelay
        for attempt in 1...max(1, settings.callbackAttempts) {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Shoal-Async-Id", value: job.id)
            request.body = .bytes(ByteBuffer(data: status.document(body: body)))
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(30)),
               (200..<300).contains(response.status.code) {
                return
            }
            if attempt < settings.callbackAttempts {
                try? await Task.sleep(for: delay)
                delay *= 2
            }
        }
        count("callback_failed")
        logger.error("callback failed after every try", metadata: ["id": "\(job.id)", "url": "\(url)"])
    }
}

/// An input location that cannot be read: the job fails with this status.
struct AsyncInputError: Error {
    var status: Int
    var message: String
}
