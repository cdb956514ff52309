import Foundation
import ShoalModels
import ShoalStore
import ShoalTensor
import ShoalTokenizers

/// The per-model queues and the compute thread that owns them. Requests are tokenized and checked in the
/// caller's task before they are queued; the compute thread only cuts batches of tokenized inputs by a token
/// budget, an input cap and a queue delay, serving the models with work in round-robin order so that a hot
/// model cannot starve others.
final class BatchScheduler: @unchecked Sendable {
    private struct Input {
        let request: PendingRequest
        let index: Int
        let encoding: Encoding
        let enqueued: ContinuousClock.Instant
    }

    private struct Queue {
        let instance: LoadedModel
        var inputs: [Input] = []
        /// Tokens of `inputs`.
        var tokens = 0
    }

    private struct Batch {
        let instance: LoadedModel
        var inputs: [Input]
    }

    private let configuration: InferenceConfiguration
    private let metrics: InferenceMetrics
    private let pool: ComputePool

    // `condition` guards every stored property below; the compute thread waits on it for work.
    private let condition = NSCondition()
    private var queues: [Int: Queue] = [:]
    /// Instances with queued inputs, the next to serve first.
    private var order: [Int] = []
    /// Inputs in every queue.
    private var queuedInputs = 0
    private var stopping = false
    /// Seconds the last batches took, smoothed, for Retry-After.
    private var batchSeconds = 0.01

    init(configuration: InferenceConfiguration, metrics: InferenceMetrics) {
        self.configuration = configuration
        self.metrics = metrics
        pool = ComputePool(threads: configuration.threads)
    }

    /// Inputs in every queue now.
    var queuedInputCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedInputs
    }

    /// Tokenizes the texts of `request` on the calling thread and queues them; refuses them at once when an input is
    /// too long (without truncation), when computing them all would outlast the request timeout at the speed the
    /// model's last batches ran, or when the model's queue cannot take them all.
    func enqueue(_ request: PendingRequest, texts: [String], on instance: LoadedModel, name: String) throws(InferenceError) {
        let encodings = try tokenize(texts, for: request, on: instance, name: name)
        let tokens = encodings.reduce(0) { $0 + $1.ids.count }
        let now = ContinuousClock.now
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw .shuttingDown }
        try Self.admit(tokens: tokens, rate: instance.tokensPerSecond.withLock { $0 }, timeout: configuration.limits.requestTimeout, name: name)
        var queue = queues[instance.id] ?? Queue(instance: instance)
        if queue.inputs.count + texts.count > configuration.limits.maxQueuedInputs {
            // After a flood, most of a full queue may be requests nobody waits for any more: they leave now,
            // not batch by batch, so that they do not keep refusing live clients.
            let before = queue.inputs.count
            queue.inputs.removeAll { input in
                guard input.request.isFinished || input.request.isAbandoned() else { return false }
                drop(input, reason: "cancelled")
                queue.tokens -= input.encoding.ids.count
                return true
            }
            queuedInputs -= before - queue.inputs.count
            if queue.inputs.isEmpty, let position = order.firstIndex(of: instance.id) { order.remove(at: position) }
        }
        guard queue.inputs.count + texts.count <= configuration.limits.maxQueuedInputs else {
            queues[instance.id] = queue.inputs.isEmpty ? nil : queue
            let batches = Double(queue.inputs.count) / Double(configuration.limits.maxBatchInputs)
            throw .overloaded(name: name, retryAfterSeconds: max(1, Int((batches * batchSeconds).rounded(.up))))
        }
        if queue.inputs.isEmpty { order.append(instance.id) }
        for (index, encoding) in encodings.enumerated() {
            queue.inputs.append(Input(request: request, index: index, encoding: encoding, enqueued: now))
        }
        queue.tokens += tokens
        queuedInputs += texts.count
        metrics.queuedInputs.record(queuedInputs)
        queues[instance.id] = queue
        condition.signal()
    }

    /// Refuses a request of `tokens` tokens that would take longer than `timeout` at `rate` tokens per second (the
    /// speed the model's last batches ran at; nil before the first): it would be thrown away unfinished, after
    /// holding up every request queued behind it.
    static func admit(tokens: Int, rate: Double?, timeout: Duration, name: String) throws(InferenceError) {
        guard let rate, rate > 0 else { return }
        let seconds = Double(tokens) / rate, limit = timeout.seconds
        guard seconds <= limit else {
            throw .inputTooLarge(String(
                format: "%d tokens would take about %.1f s at the %.0f tokens/s model \"%@\" runs at, more than the "
                    + "request timeout of %.0f s; send fewer or shorter texts per request",
                tokens, seconds, rate, name, limit))
        }
    }

    /// The encodings of `texts`; refuses an over-long text when the server does not truncate.
    private func tokenize(_ texts: [String], for request: PendingRequest, on instance: LoadedModel, name: String)
        throws(InferenceError) -> [Encoding] {
        let clock = ContinuousClock()
        let started = clock.now
        let model = instance.model
        var encodings: [Encoding] = []
        encodings.reserveCapacity(texts.count)
        for (index, text) in texts.enumerated() {
            let encoding = model.tokenize(text)
            if encoding.isTruncated && !configuration.truncate {
                throw .invalidInput(
                    "input \(index) has \(encoding.untruncatedCount) tokens but model \"\(name)\" takes at most "
                        + "\(model.maxSequenceLength); shorten it or run the server with truncation on")
            }
            encodings.append(encoding)
        }
        metrics.workload(instance).tokenizeDuration.record(duration: started.duration(to: clock.now))
        return encodings
    }

    /// Computes batches on the calling thread until `stop()` has been called and every queue is empty.
    func runComputeLoop() {
        while let batch = nextBatch() {
            compute(batch)
        }
    }

    /// Lets the compute loop end once the queued inputs are done; new requests are refused.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    // MARK: Cutting batches

    /// Waits until some model's batch is due, then cuts it; `nil` once stopped and drained.
    private func nextBatch() -> Batch? {
        while let candidates = nextCandidates() {
            let batch = withoutDropped(candidates)
            if !batch.inputs.isEmpty { return batch }
        }
        return nil
    }

    /// The inputs at the head of the next due queue, cut in one pass: at most `maxBatchInputs`, and as many as
    /// fit in `maxBatchTokens` (at least one). A queue is due when it holds a full batch or its oldest input has
    /// waited `maxQueueDelay`.
    private func nextCandidates() -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let now = ContinuousClock.now
            var wakeAt: ContinuousClock.Instant?
            for (position, id) in order.enumerated() {
                guard var queue = queues[id], let oldest = queue.inputs.first else { continue }
                let full = queue.inputs.count >= configuration.limits.maxBatchInputs || queue.tokens >= configuration.limits.maxBatchTokens
                let dueAt = full || stopping ? now : oldest.enqueued + configuration.limits.maxQueueDelay
                guard dueAt <= now else {
                    wakeAt = min(wakeAt ?? dueAt, dueAt)
                    continue
                }
                var count = 0, tokens = 0
                for input in queue.inputs.prefix(configuration.limits.maxBatchInputs) {
                    let next = input.encoding.ids.count
                    guard count == 0 || tokens + next <= configuration.limits.maxBatchTokens else { break }
                    count += 1
                    tokens += next
                }
                let batch = Batch(instance: queue.instance, inputs: Array(queue.inputs.prefix(count)))
                queue.inputs.removeFirst(count)
                queue.tokens -= tokens
                order.remove(at: position)
                if queue.inputs.isEmpty {
                    queues[id] = nil
                } else {
                    queues[id] = queue
                    order.append(id)
                }
                queuedInputs -= count
                metrics.queuedInputs.record(queuedInputs)
                return batch
            }
            if order.isEmpty && stopping { return nil }
            if let wakeAt {
                _ = condition.wait(until: Date(timeIntervalSinceNow: now.duration(to: wakeAt).seconds))
            } else {
                condition.wait()
            }
        }
    }

    /// The batch without the inputs nobody waits for any more: those whose request ended or whose client left,
    /// and those past their deadline.
    private func withoutDropped(_ batch: Batch) -> Batch {
        let now = ContinuousClock.now
        var kept = batch
        kept.inputs.removeAll { input in
            if input.request.isFinished || input.request.isAbandoned() {
                drop(input, reason: "cancelled")
                return true
            }
            if now > input.request.deadline {
                input.request.fail(.timedOut(
                    name: input.request.modelName, seconds: configuration.limits.requestTimeout.seconds))
                countDropped(input, reason: "timed_out")
                return true
            }
            return false
        }
        return kept
    }

    /// Ends an input nobody waits for any more, failing its request as cancelled.
    private func drop(_ input: Input, reason: String) {
        input.request.fail(.cancelled)
        countDropped(input, reason: reason)
    }

    private func countDropped(_ input: Input, reason: String) {
        metrics.countDropped(reason: reason)
        input.request.counters.update { $0.dropped += 1 }
    }

    // MARK: Computing

    private func compute(_ batch: Batch) {
        let clock = ContinuousClock()
        let started = clock.now
        let handles = metrics.workload(batch.instance)
        let encodings = batch.inputs.map(\.encoding)
        for input in batch.inputs {
            handles.queueDuration.record(duration: input.enqueued.duration(to: started))
        }
        do {
            let outputs = try batch.instance.model.run(encodings, on: pool)
            for (input, (output, encoding)) in zip(batch.inputs, zip(outputs, encodings)) {
                input.request.fulfill(input.index, output: output, tokens: encoding.ids.count)
            }
        } catch {
            let failure = InferenceError.internalFailure((error as? ModelError)?.description ?? "\(error)")
            for input in batch.inputs { input.request.fail(failure) }
        }
        let elapsed = started.duration(to: clock.now)
        let tokens = encodings.reduce(0) { $0 + $1.ids.count }
        handles.inferDuration.record(duration: elapsed)
        for input in batch.inputs {
            let waited = input.enqueued.duration(to: started).seconds
            input.request.counters.update {
                $0.inputs += 1
                $0.queueSeconds += waited
                $0.computeSeconds += elapsed.seconds
            }
        }
        handles.batchSize.record(encodings.count)
        handles.batchTokens.record(tokens)
        condition.lock()
        batchSeconds = 0.8 * batchSeconds + 0.2 * elapsed.seconds
        // Small batches run far below the engine's rate: only batches of a useful size set what a request may ask.
        if tokens >= 256 {
            let rate = Double(tokens) / max(elapsed.seconds, 1e-6)
            batch.instance.tokensPerSecond.withLock { $0 = $0.map { 0.8 * $0 + 0.2 * rate } ?? rate }
        }
        condition.unlock()
    }
}
