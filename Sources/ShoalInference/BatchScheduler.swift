import Foundation
import ShoalModels
import ShoalTensor
import ShoalTokenizers

/// The per-model queues and the compute thread that owns them: it cuts batches by a token budget, an input cap
/// and a queue delay, serving the models with work in round-robin order so that a hot model cannot starve others.
final class BatchScheduler: @unchecked Sendable {
    private struct Input {
        let request: PendingRequest
        let index: Int
        let text: String
        let enqueued: ContinuousClock.Instant
        var encoding: Encoding?
    }

    private struct Queue {
        let instance: LoadedModel
        /// The name the queue's metrics carry: the first name that used the instance.
        let label: String
        var inputs: [Input] = []
    }

    private struct Batch {
        let instance: LoadedModel
        let label: String
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
    private var stopping = false
    /// Seconds the last batches took, smoothed, for Retry-After.
    private var batchSeconds = 0.01

    init(configuration: InferenceConfiguration, metrics: InferenceMetrics) {
        self.configuration = configuration
        self.metrics = metrics
        pool = ComputePool(threads: configuration.threads)
    }

    /// Queues the texts of `request`; refuses them at once when the model's queue cannot take them all.
    func enqueue(_ request: PendingRequest, texts: [String], on instance: LoadedModel, name: String) throws(InferenceError) {
        let now = ContinuousClock.now
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw .shuttingDown }
        var queue = queues[instance.id] ?? Queue(instance: instance, label: name)
        guard queue.inputs.count + texts.count <= configuration.maxQueuedInputs else {
            let batches = Double(queue.inputs.count) / Double(configuration.maxBatchInputs)
            throw .overloaded(name: name, retryAfterSeconds: max(1, Int((batches * batchSeconds).rounded(.up))))
        }
        if queue.inputs.isEmpty { order.append(instance.id) }
        for (index, text) in texts.enumerated() {
            queue.inputs.append(Input(request: request, index: index, text: text, enqueued: now))
        }
        metrics.model(queue.label).queueDepth.record(queue.inputs.count)
        queues[instance.id] = queue
        condition.signal()
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
            if let batch = fitTokenBudget(candidates) { return batch }
        }
        return nil
    }

    /// The inputs at the head of the next due queue, at most `maxBatchInputs`, tokenized.
    private func nextCandidates() -> Batch? {
        condition.lock()
        while true {
            let now = ContinuousClock.now
            var wakeAt: ContinuousClock.Instant?
            for (position, id) in order.enumerated() {
                guard let queue = queues[id], let oldest = queue.inputs.first else { continue }
                let dueAt = queue.inputs.count >= configuration.maxBatchInputs || stopping
                    ? now : oldest.enqueued + configuration.maxQueueDelay
                guard dueAt <= now else {
                    wakeAt = min(wakeAt ?? dueAt, dueAt)
                    continue
                }
                order.remove(at: position)
                let count = min(queue.inputs.count, configuration.maxBatchInputs)
                let batch = Batch(instance: queue.instance, label: queue.label, inputs: Array(queue.inputs.prefix(count)))
                queues[id]?.inputs.removeFirst(count)
                if count < queue.inputs.count { order.append(id) } else { queues[id] = nil }
                metrics.model(queue.label).queueDepth.record(queue.inputs.count - count)
                condition.unlock()
                return tokenized(batch)
            }
            if order.isEmpty && stopping {
                condition.unlock()
                return nil
            }
            if let wakeAt {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Self.seconds(now.duration(to: wakeAt))))
            } else {
                condition.wait()
            }
        }
    }

    /// Drops inputs nobody waits for any more, tokenizes the others and refuses over-long ones when not truncating.
    private func tokenized(_ batch: Batch) -> Batch {
        let clock = ContinuousClock()
        let started = clock.now
        var kept = batch
        kept.inputs.removeAll(keepingCapacity: true)
        let model = batch.instance.model
        for var input in batch.inputs {
            if input.request.isFinished || input.request.isAbandoned() {
                input.request.fail(.cancelled)
                metrics.countDropped(input.request.modelName, reason: "cancelled")
                continue
            }
            if started > input.request.deadline {
                input.request.fail(.timedOut(
                    name: input.request.modelName, seconds: Self.seconds(configuration.requestTimeout)))
                metrics.countDropped(input.request.modelName, reason: "timed_out")
                continue
            }
            let encoding = input.encoding ?? model.tokenize(input.text)
            if encoding.isTruncated && !configuration.truncate {
                input.request.fail(.invalidInput(
                    "input \(input.index) has \(encoding.untruncatedCount) tokens but model \"\(input.request.modelName)\" "
                        + "takes at most \(model.maxSequenceLength); shorten it or run the server with truncation on"))
                continue
            }
            input.encoding = encoding
            kept.inputs.append(input)
        }
        metrics.model(batch.label).tokenizeDuration.record(duration: started.duration(to: clock.now))
        return kept
    }

    /// Keeps the longest prefix within the token budget (at least one input) and puts the rest back at the head of
    /// its queue; `nil` when no input is left to compute.
    private func fitTokenBudget(_ batch: Batch) -> Batch? {
        var tokens = 0
        var fitting = 0
        for input in batch.inputs {
            let count = input.encoding?.ids.count ?? 0
            guard fitting == 0 || tokens + count <= configuration.maxBatchTokens else { break }
            tokens += count
            fitting += 1
        }
        guard fitting > 0 else { return nil }
        if fitting < batch.inputs.count {
            condition.lock()
            let id = batch.instance.id
            if queues[id] == nil {
                queues[id] = Queue(instance: batch.instance, label: batch.label)
            }
            if !order.contains(id) { order.append(id) }
            queues[id]?.inputs.insert(contentsOf: batch.inputs[fitting...], at: 0)
            condition.unlock()
        }
        return Batch(instance: batch.instance, label: batch.label, inputs: Array(batch.inputs.prefix(fitting)))
    }

    // MARK: Computing

    private func compute(_ batch: Batch) {
        let clock = ContinuousClock()
        let started = clock.now
        let handles = metrics.model(batch.label)
        let encodings = batch.inputs.compactMap(\.encoding)
        for input in batch.inputs {
            metrics.model(input.request.modelName).queueDuration.record(duration: input.enqueued.duration(to: started))
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
        handles.inferDuration.record(duration: elapsed)
        handles.batchSize.record(encodings.count)
        handles.batchTokens.record(encodings.reduce(0) { $0 + $1.ids.count })
        condition.lock()
        batchSeconds = 0.8 * batchSeconds + 0.2 * Self.seconds(elapsed)
        condition.unlock()
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
