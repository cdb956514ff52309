import Foundation
import Metrics
import ShoalModels
import ShoalTensor
import Synchronization
import ShoalTesting
import Testing
@testable import ShoalInference

@Suite struct BatchSchedulerTests {
    let folders: ModelFolders
    let hot: LoadedModel
    let cold: LoadedModel

    init() throws {
        folders = try ModelFolders()
        hot = LoadedModel(id: 1, model: try Model(folder: try folders.embedding("hot")), fingerprint: "hot", family: "hot")
        cold = LoadedModel(id: 2, model: try Model(folder: try folders.embedding("cold", seed: 5)), fingerprint: "cold", family: "cold")
    }

    private func scheduler(_ adjust: (inout InferenceConfiguration) -> Void = { _ in }) -> BatchScheduler {
        var configuration = InferenceConfiguration()
        configuration.threads = 1
        adjust(&configuration)
        return BatchScheduler(configuration: configuration, metrics: InferenceMetrics(factory: NOOPMetricsHandler.instance))
    }

    private func request(_ name: String, inputs: Int = 1, timeout: Duration = .seconds(30),
                         onCut: @escaping @Sendable () -> Bool = { false }) -> PendingRequest {
        PendingRequest(modelName: name, counters: ModelCounters(name: name), inputs: inputs, deadline: .now + timeout, isAbandoned: onCut)
    }

    /// Runs the compute loop until every queued input is done.
    private func drain(_ scheduler: BatchScheduler) async throws {
        scheduler.stop()
        try await Thread.run(named: "test-compute") { scheduler.runComputeLoop() }
    }

    @Test func hotModelDoesNotStarveOthers() async throws {
        let scheduler = scheduler { $0.limits.maxBatchInputs = 1 }
        let cuts = Mutex<[String]>([])
        let record: @Sendable (String) -> @Sendable () -> Bool = { name in { cuts.withLock { $0.append(name) }; return false } }
        var requests: [PendingRequest] = []
        for _ in 0..<8 {
            let hotRequest = request("hot", onCut: record("hot"))
            try scheduler.enqueue(hotRequest, texts: ["hello"], on: hot, name: "hot")
            requests.append(hotRequest)
        }
        let coldRequest = request("cold", onCut: record("cold"))
        try scheduler.enqueue(coldRequest, texts: ["hello"], on: cold, name: "cold")
        try await drain(scheduler)
        // Round-robin: the cold model's batch comes second, not after the hot model's whole queue.
        #expect(cuts.withLock { $0 }.prefix(2) == ["hot", "cold"])
        _ = try await coldRequest.outputs()
        for request in requests { _ = try await request.outputs() }
    }

    @Test func fullQueueRefusesAtOnce() throws {
        let scheduler = scheduler { $0.limits.maxQueuedInputs = 3; $0.limits.maxInputsPerRequest = 2 }
        try scheduler.enqueue(request("hot", inputs: 2), texts: ["a", "b"], on: hot, name: "hot")
        #expect(throws: InferenceError.overloaded(name: "hot", retryAfterSeconds: 1)) {
            try scheduler.enqueue(request("hot", inputs: 2), texts: ["a", "b"], on: hot, name: "hot")
        }
        // Another model's queue is its own.
        try scheduler.enqueue(request("cold", inputs: 2), texts: ["a", "b"], on: cold, name: "cold")
        scheduler.stop()
    }

    /// After a flood whose clients left, their inputs no longer fill the queue: a live request is admitted at once.
    @Test func fullQueueOfAbandonedRequestsAdmitsALiveOne() async throws {
        let scheduler = scheduler { $0.limits.maxQueuedInputs = 3; $0.limits.maxInputsPerRequest = 2 }
        let gone = request("hot", inputs: 2, onCut: { true })
        try scheduler.enqueue(gone, texts: ["a", "b"], on: hot, name: "hot")
        let live = request("hot", inputs: 2)
        try scheduler.enqueue(live, texts: ["a", "b"], on: hot, name: "hot")
        await #expect(throws: InferenceError.cancelled) { try await gone.outputs() }
        try await drain(scheduler)
        #expect(try await live.outputs().outputs.count == 2)
    }

    @Test func abandonedAndExpiredRequestsAreDroppedBeforeCompute() async throws {
        let scheduler = scheduler()
        let gone = request("hot", onCut: { true })
        let late = request("hot", timeout: .zero)
        let cancelled = request("hot")
        // A deadline far off: on a loaded machine the other suites can hold this one up for many seconds.
        let kept = request("hot", timeout: .seconds(600))
        for pending in [gone, late, cancelled, kept] {
            try scheduler.enqueue(pending, texts: ["hello"], on: hot, name: "hot")
        }
        let waiter = Task { try await cancelled.outputs() }
        waiter.cancel()
        // The cancelled waiter ends its request as soon as it runs.
        while !cancelled.isFinished { await Task.yield() }
        try await drain(scheduler)
        await #expect(throws: InferenceError.cancelled) { try await gone.outputs() }
        await #expect(throws: InferenceError.timedOut(name: "hot", seconds: 30)) { try await late.outputs() }
        await #expect(throws: InferenceError.cancelled) { try await waiter.value }
        #expect(try await kept.outputs().outputs.count == 1)
    }

    @Test func tokenBudgetSplitsBatches() async throws {
        let scheduler = scheduler { $0.limits.maxBatchTokens = 8 }
        let cuts = Mutex(0)
        // Each text is [CLS] hello world [SEP]: 4 tokens, so two fit a batch of 8.
        let pending = request("hot", inputs: 5, onCut: { cuts.withLock { $0 += 1 }; return false })
        try scheduler.enqueue(pending, texts: Array(repeating: "hello world", count: 5), on: hot, name: "hot")
        try await drain(scheduler)
        let result = try await pending.outputs()
        #expect(result.tokens == 20)
        #expect(result.outputs.allSatisfy { $0.count == TinyModel.hiddenSize })
        // Batches are cut in one pass, nothing is put back: each input is checked once, in batches of 2, 2 and 1.
        #expect(cuts.withLock { $0 } == 5)
    }

    @Test func requestsThatWouldOutlastTheTimeoutAreRefusedAtAdmission() throws {
        // Before any batch has run there is no measured speed, and nothing is refused for its size.
        try BatchScheduler.admit(tokens: 1_000_000, rate: nil, timeout: .seconds(30), name: "hot")
        try BatchScheduler.admit(tokens: 60_000, rate: 2_000, timeout: .seconds(30), name: "hot")
        #expect {
            try BatchScheduler.admit(tokens: 60_001, rate: 2_000, timeout: .seconds(30), name: "hot")
        } throws: { error in
            guard case .inputTooLarge(let reason) = error as? InferenceError else { return false }
            return reason.contains("60001 tokens") && reason.contains("request timeout of 30 s")
        }
    }

    @Test func overLongInputsAreRefusedBeforeQueueing() throws {
        let scheduler = scheduler { $0.truncate = false }
        let text = Array(repeating: "word", count: 4_000).joined(separator: " ")
        let pending = request("hot", inputs: 2)
        #expect {
            try scheduler.enqueue(pending, texts: ["short", text], on: hot, name: "hot")
        } throws: { error in
            guard case .invalidInput(let reason) = error as? InferenceError else { return false }
            return reason.hasPrefix("input 1 has")
        }
        #expect(!pending.isFinished)
    }

    @Test func stoppedSchedulerRefusesNewWork() throws {
        let scheduler = scheduler()
        scheduler.stop()
        #expect(throws: InferenceError.shuttingDown) {
            try scheduler.enqueue(request("hot"), texts: ["a"], on: hot, name: "hot")
        }
    }
}

