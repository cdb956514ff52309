import Synchronization

/// One admitted request: its inputs are computed in one or more batches, and its caller awaits all of them.
final class PendingRequest: Sendable {
    /// One row per input, in input order, and the tokens they took.
    typealias Outputs = (outputs: [[Float]], tokens: Int)

    private struct State {
        var outputs: [[Float]]
        var remaining: Int
        var tokens = 0
        var result: Result<Outputs, InferenceError>?
        var continuation: CheckedContinuation<Outputs, any Error>?
    }

    /// The model name the request was made to, for metrics and errors.
    let modelName: String
    /// The statistics of that model.
    let counters: ModelCounters
    /// When the request stops being worth computing.
    let deadline: ContinuousClock.Instant
    /// Whether the client has gone away; checked before compute.
    let isAbandoned: @Sendable () -> Bool
    private let state: Mutex<State>

    init(modelName: String, counters: ModelCounters, inputs: Int, deadline: ContinuousClock.Instant, isAbandoned: @escaping @Sendable () -> Bool) {
        self.modelName = modelName
        self.counters = counters
        self.deadline = deadline
        self.isAbandoned = isAbandoned
        state = Mutex(State(outputs: Array(repeating: [], count: inputs), remaining: inputs))
    }

    /// Whether the request has its result (outputs or an error); its remaining inputs need no compute.
    var isFinished: Bool { state.withLock { $0.result != nil } }

    /// Records the output of input `index`, which took `tokens` tokens.
    func fulfill(_ index: Int, output: [Float], tokens: Int) {
        finish { state in
            guard state.result == nil else { return }
            state.outputs[index] = output
            state.tokens += tokens
            state.remaining -= 1
            if state.remaining == 0 { state.result = .success((state.outputs, state.tokens)) }
        }
    }

    /// Ends the request with `error` unless it has already ended.
    func fail(_ error: InferenceError) {
        finish { state in
            if state.result == nil { state.result = .failure(error) }
        }
    }

    /// Waits for the outputs; cancelling the waiting task ends the request as cancelled at once.
    func outputs() async throws -> Outputs {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let result: Result<Outputs, InferenceError>? = state.withLock { state in
                    if state.result == nil { state.continuation = continuation }
                    return state.result
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            fail(.cancelled)
        }
    }

    private func finish(_ update: (inout State) -> Void) {
        let ready: (CheckedContinuation<Outputs, any Error>, Result<Outputs, InferenceError>)? =
            state.withLock { state in
                update(&state)
                guard let result = state.result, let continuation = state.continuation else { return nil }
                state.continuation = nil
                return (continuation, result)
            }
        if let (continuation, result) = ready { continuation.resume(with: result) }
    }
}
