import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One asynchronous request as the queue keeps it: the HTTP request to replay and what to do with its answer.
struct AsyncJob: Codable, Sendable {
    /// The request's id, a lowercase UUID.
    var id: String
    /// The path and query of the inference route (`/v2/models/minilm/infer`).
    var path: String
    /// The body's `Content-Type`, and KServe's `Inference-Header-Content-Length` for a binary body.
    var contentType: String?
    var inferenceHeaderLength: String?
    /// The body's object in the server's store, read when the job runs, instead of a body sent with the request.
    var inputLocation: String?
    /// Where the finished status is POSTed.
    var callback: String?
    var accepted: Date
    /// The job must have started by then, else it ends `expired`.
    var deadline: Date
    /// Its result is stored; only the callback is left.
    var stored = false
}

/// The durable queue of asynchronous requests: a folder with `ID.json` (the job) and `ID.body` (its body) per
/// request, each written to a temporary name, synced and renamed before the request is acknowledged, so that
/// a crash after the 202 loses nothing. Jobs found there at start-up run again; a job leaves the folder only
/// once its result is stored and its callback is done.
final class AsyncQueue: Sendable {
    let folder: URL
    let limit: Int
    private struct State {
        var jobs: [String: AsyncJob] = [:]
        /// Ids waiting to run, oldest first.
        var waiting: [String] = []
        var running: Set<String> = []
        var wakeUps: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }
    private let state = Mutex(State())

    /// The queue in `folder`, with the jobs a previous run left there, oldest first.
    init(folder: URL, limit: Int) throws {
        self.folder = folder
        self.limit = limit
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let decoder = JSONDecoder()
        var found: [AsyncJob] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            if name.hasSuffix(".tmp") {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))  // never acknowledged
            } else if name.hasSuffix(".json"), let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path),
                      let job = try? decoder.decode(AsyncJob.self, from: data) {
                found.append(job)
            }
        }
        found.sort { $0.accepted < $1.accepted }
        state.withLock { state in
            for job in found { state.jobs[job.id] = job }
            state.waiting = found.map(\.id)
        }
    }

    /// Writes `job` and its `body` durably and queues it; throws `full` beyond the limit.
    func submit(_ job: AsyncJob, body: Data) throws {
        let admitted = state.withLock { state in
            guard state.jobs.count < limit else { return false }
            state.jobs[job.id] = job  // counted at once, so that concurrent submits cannot pass the limit
            return true
        }
        guard admitted else { throw Full() }
        do {
            try write(body, to: "\(job.id).body")
            try write(try JSONEncoder().encode(job), to: "\(job.id).json")
            try syncFolder()
        } catch {
            state.withLock { _ = $0.jobs.removeValue(forKey: job.id) }
            try? FileManager.default.removeItem(at: folder.appendingPathComponent("\(job.id).body"))
            throw error
        }
        let wake = state.withLock { state in
            state.waiting.append(job.id)
            return state.wakeUps.popLast()
        }
        wake?.resume()
    }

    /// The queue is full.
    struct Full: Error {}

    /// The oldest waiting job, marked running, once there is one; nil after `close()`.
    func next() async -> AsyncJob? {
        while true {
            enum Step { case job(AsyncJob), wait, closed }
            let step: Step = state.withLock { state in
                if state.closed { return .closed }
                guard !state.waiting.isEmpty else { return .wait }
                let id = state.waiting.removeFirst()
                state.running.insert(id)
                return state.jobs[id].map(Step.job) ?? .wait
            }
            switch step {
            case .job(let job): return job
            case .closed: return nil
            case .wait:
                await withCheckedContinuation { continuation in
                    let resume = state.withLock { state -> Bool in
                        guard !state.closed, state.waiting.isEmpty else { return true }
                        state.wakeUps.append(continuation)
                        return false
                    }
                    if resume { continuation.resume() }
                }
            }
        }
    }

    /// The body of `job`.
    func body(of job: AsyncJob) throws -> Data {
        try Data(contentsOf: folder.appendingPathComponent("\(job.id).body"))
    }

    /// Records that the result of `job` is stored, so that a restart only calls its callback.
    func markStored(_ job: AsyncJob) throws {
        var stored = job
        stored.stored = true
        try write(try JSONEncoder().encode(stored), to: "\(job.id).json")
        state.withLock { $0.jobs[job.id] = stored }
    }

    /// Removes a finished job from the folder and the queue.
    func finish(_ job: AsyncJob) {
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("\(job.id).json"))
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("\(job.id).body"))
        state.withLock { state in
            state.jobs[job.id] = nil
            state.running.remove(job.id)
        }
    }

    /// Puts a running job back at the head of the queue (the server is stopping).
    func requeue(_ job: AsyncJob) {
        state.withLock { state in
            state.running.remove(job.id)
            state.waiting.insert(job.id, at: 0)
        }
    }

    /// Whether job `id` is queued or running, and when it was accepted.
    func status(of id: String) -> (running: Bool, accepted: Date)? {
        state.withLock { state in state.jobs[id].map { (state.running.contains(id), $0.accepted) } }
    }

    /// Jobs queued or running, and when the oldest was accepted.
    func depth() -> (count: Int, oldest: Date?) {
        state.withLock { state in
            (state.jobs.count, state.waiting.first.flatMap { state.jobs[$0]?.accepted })
        }
    }

    /// Wakes every `next()` with nil.
    func close() {
        let wakeUps = state.withLock { state in
            state.closed = true
            defer { state.wakeUps = [] }
            return state.wakeUps
        }
        for continuation in wakeUps { continuation.resume() }
    }

    /// Writes `data` to `name` through a synced temporary file and a rename.
    private func write(_ data: Data, to name: String) throws {
        let target = folder.appendingPathComponent(name)
        let temporary = folder.appendingPathComponent(name + ".tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        let handle = try FileHandle(forWritingTo: temporary)
        defer { try? handle.close() }
        try handle.write(contentsOf: data)
        try handle.synchronize()
        guard rename(temporary.path, target.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target.path])
        }
    }

    /// Syncs the folder, so that the renames in it survive a crash.
    private func syncFolder() throws {
        let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: folder.path]) }
        defer { Glibc.close(descriptor) }
        _ = fsync(descriptor)
    }
}
