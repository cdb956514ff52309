import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ShoalModels
import ShoalStore
import ShoalTensor
import Synchronization

/// The models in memory: loads them on first use (one load however many callers wait), shares one instance
/// between names whose files are the same, and evicts the least recently used idle ones to stay in budget.
final class ModelRegistry: Sendable {
    /// A model handed to one request; give it back with `release(_:)`.
    struct Lease: Sendable {
        let name: String
        let version: String
        let instance: LoadedModel

        var info: ModelInfo {
            let model = instance.model
            return ModelInfo(
                name: name, version: version, modelType: model.modelType, task: model.task,
                dimensions: model.dimensions, maxSequenceLength: model.maxSequenceLength, bytes: instance.bytes)
        }
    }

    private enum Phase {
        case idle(reason: String)
        case loading(waiters: [CheckedContinuation<Lease, any Error>])
        case ready(Lease)
        case failed(reason: String)
    }

    private struct Entry {
        var phase: Phase
        var leases = 0
        var lastUsed = ContinuousClock.now
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Loaded instances by fingerprint.
        var instances: [String: LoadedModel] = [:]
        /// Bytes of the loaded instances.
        var used = 0
        /// Bytes set aside for loads in progress.
        var reserved = 0
        var nextID = 0
        /// Heads waiting for a base that another head is loading, by the base's fingerprint.
        var baseWaiters: [String: [CheckedContinuation<LoadedModel?, any Error>]] = [:]
    }

    private let source: any ModelSource
    private let configuration: InferenceConfiguration
    private let metrics: InferenceMetrics
    private let state = Mutex(State())
    /// Names to load, consumed by `runLoads()`.
    private let loadRequests: AsyncStream<String>
    private let loadQueue: AsyncStream<String>.Continuation

    init(source: any ModelSource, configuration: InferenceConfiguration, metrics: InferenceMetrics) {
        self.source = source
        self.configuration = configuration
        self.metrics = metrics
        (loadRequests, loadQueue) = AsyncStream.makeStream()
        metrics.memoryBudget.record(configuration.limits.memoryBudget ?? 0)
    }

    /// Runs every requested load as a child task until `stopLoading()`, then waits for the loads under way.
    func runLoads() async {
        await withDiscardingTaskGroup { group in
            for await name in loadRequests {
                group.addTask { await self.load(name) }
            }
        }
    }

    /// Takes no more loads: models asked for from now on fail with `shuttingDown`.
    func stopLoading() {
        loadQueue.finish()
    }

    /// The model called `name`, loading it first if needed; throws `unknownModel`, `modelUnavailable`, `cannotFit`.
    func acquire(_ name: String) async throws -> Lease {
        let hit: Lease? = state.withLock { state in
            guard case .ready(let lease) = state.entries[name]?.phase else { return nil }
            state.entries[name]?.leases += 1
            return lease
        }
        if let hit {
            metrics.model(name).cacheHits.increment()
            return hit
        }
        guard ModelReference.isValidName(name) else { throw InferenceError.unknownModel(name) }
        return try await withCheckedThrowingContinuation { continuation in
            let startLoad: Bool = state.withLock { state in
                switch state.entries[name]?.phase {
                case .ready(let lease):
                    state.entries[name]?.leases += 1
                    continuation.resume(returning: lease)
                case .loading(let waiters):
                    state.entries[name]?.phase = .loading(waiters: waiters + [continuation])
                case .failed(let reason):
                    continuation.resume(throwing: InferenceError.modelUnavailable(name: name, reason: reason))
                case .idle, nil:
                    state.entries[name, default: Entry(phase: .idle(reason: ""))].phase = .loading(waiters: [continuation])
                    return true
                }
                return false
            }
            if startLoad, case .terminated = loadQueue.yield(name) {
                finish(name, with: .failure(.shuttingDown), outcome: nil)
            }
        }
    }

    /// Gives back a model taken by `acquire(_:)`.
    func release(_ name: String) {
        state.withLock { state in
            state.entries[name]?.leases -= 1
            state.entries[name]?.lastUsed = .now
        }
    }

    /// Loads `name` now; reloads it from its files when it is loaded already, and retries a failed load.
    func load(explicitly name: String) async throws -> Lease {
        try await unload(name)
        let lease = try await acquire(name)
        release(name)
        return lease
    }

    /// Drops `name` from memory (its instance goes when no other name shares it); in-flight requests finish.
    func unload(_ name: String) async throws {
        if case .loading = state.withLock({ $0.entries[name]?.phase }) {
            _ = try? await acquire(name)
            release(name)
        }
        state.withLock { state in
            guard state.entries[name] != nil else { return }
            detach(name, reason: "unloaded", in: &state)
        }
        Self.returnFreedMemory()
        publishGauges()
    }

    /// The state of every model the source lists, plus any other model the registry knows.
    func statuses() async throws -> [ModelStatus] {
        let listed = try await source.models()
        return state.withLock { state in
            var seen = Set<String>()
            var statuses = listed.map { descriptor in
                seen.insert(descriptor.name)
                return status(descriptor.name, version: descriptor.version, entry: state.entries[descriptor.name])
            }
            for (name, entry) in state.entries.sorted(by: { $0.key < $1.key }) where !seen.contains(name) {
                statuses.append(status(name, version: "1", entry: entry))
            }
            return statuses
        }
    }

    /// The state of `name`, or `nil` when neither the source nor the registry knows it; loads nothing.
    func status(of name: String) async throws -> ModelStatus? {
        let descriptor = try await source.describe(name)
        return state.withLock { state in
            let entry = state.entries[name]
            guard descriptor != nil || entry != nil else { return nil }
            return status(name, version: descriptor?.version ?? "1", entry: entry)
        }
    }

    /// Whether a model of this name is in memory.
    func isLoaded(_ name: String) -> Bool {
        state.withLock { state in
            if case .ready = state.entries[name]?.phase { return true }
            return false
        }
    }

    /// Bytes of parameters in memory.
    var memoryUsed: Int { state.withLock { $0.used } }

    /// Bytes reserved for loads under way.
    var memoryReserved: Int { state.withLock { $0.reserved } }

    private func status(_ name: String, version: String, entry: Entry?) -> ModelStatus {
        switch entry?.phase {
        case .ready(let lease):
            ModelStatus(name: name, version: lease.version, state: .ready, reason: "")
        case .loading:
            ModelStatus(name: name, version: version, state: .loading, reason: "")
        case .failed(let reason):
            ModelStatus(name: name, version: version, state: .unavailable, reason: reason)
        case .idle(let reason):
            ModelStatus(name: name, version: version, state: .unavailable, reason: reason.isEmpty ? ModelStatus.notLoaded : reason)
        case nil:
            ModelStatus(name: name, version: version, state: .unavailable, reason: ModelStatus.notLoaded)
        }
    }

    // MARK: Loading

    private func load(_ name: String) async {
        let clock = ContinuousClock()
        let started = clock.now
        var reservation = 0
        do {
            guard let location = try await source.locate(name) else {
                finish(name, with: .failure(.unknownModel(name)), outcome: nil)
                return
            }
            let folder = location.folder
            let fingerprint: String
            if let known = location.fingerprint {
                fingerprint = known
            } else {
                fingerprint = try await Thread.run(named: "shoal-load") { try ModelFingerprint.compute(folder: folder) }
            }
            if let shared = state.withLock({ $0.instances[fingerprint] }) {
                finish(name, with: .success(Lease(name: name, version: location.version, instance: shared)), outcome: "shared")
                return
            }
            let bytes = Self.estimatedBytes(folder: folder)
            try state.withLock { state throws(InferenceError) in
                try makeRoom(for: bytes, name: name, in: &state)
                state.reserved += bytes
            }
            reservation = bytes  // only now taken: the error path gives back what was taken, no more
            Self.returnFreedMemory()
            let options = configuration.modelOptions
            let model: Model
            if let base = location.base {
                let encoder = try await sharedBase(base, for: name).model
                model = try await Thread.run(named: "shoal-load") { try Model(base: encoder, head: folder) }
            } else {
                model = try await Thread.run(named: "shoal-load") { try Model(folder: folder, options: options) }
            }
            let lease = try state.withLock { state throws(InferenceError) -> Lease in
                state.reserved -= bytes
                reservation = 0
                if let shared = state.instances[fingerprint] {
                    return Lease(name: name, version: location.version, instance: shared)
                }
                state.nextID += 1
                let instance = LoadedModel(id: state.nextID, model: model, fingerprint: fingerprint)
                try makeRoom(for: instance.bytes, name: name, in: &state)
                state.instances[fingerprint] = instance
                state.used += instance.bytes
                return Lease(name: name, version: location.version, instance: instance)
            }
            metrics.model(name).loadDuration.record(duration: started.duration(to: clock.now))
            configuration.logger.info("loaded model", metadata: [
                "model": "\(name)", "bytes": "\(lease.instance.bytes)", "duration": "\(started.duration(to: clock.now))",
            ])
            finish(name, with: .success(lease), outcome: "loaded")
        } catch {
            if reservation > 0 { state.withLock { $0.reserved -= reservation } }
            let failure = (error as? InferenceError)
                ?? .modelUnavailable(name: name, reason: (error as? ModelError)?.description ?? "\(error)")
            configuration.logger.error("cannot load model", metadata: ["model": "\(name)", "error": "\(failure)"])
            finish(name, with: .failure(failure), outcome: failure.isCannotFit ? "no_room" : "failed")
        }
    }

    /// The loaded instance of a head's base, loading it (within the budget) if no name or head holds it yet;
    /// heads that ask while it loads wait for that one load.
    private func sharedBase(_ base: SharedBase, for name: String) async throws -> LoadedModel {
        let bytes = Self.estimatedBytes(folder: base.folder)
        // nil: this head loads the base; the others get the instance it loads (or its error).
        let ready: LoadedModel? = try await withCheckedThrowingContinuation { continuation in
            state.withLock { state in
                if let loaded = state.instances[base.fingerprint] {
                    continuation.resume(returning: loaded)
                } else if state.baseWaiters[base.fingerprint] != nil {
                    state.baseWaiters[base.fingerprint]?.append(continuation)
                } else {
                    do {
                        try makeRoom(for: bytes, name: name, in: &state)
                        state.reserved += bytes
                        state.baseWaiters[base.fingerprint] = []
                        continuation.resume(returning: nil)
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        }
        if let ready { return ready }
        let options = configuration.modelOptions
        let loaded: Result<Model, any Error>
        do {
            loaded = .success(try await Thread.run(named: "shoal-load") { try Model(folder: base.folder, options: options) })
        } catch {
            loaded = .failure(error)
        }
        let (result, waiters) = state.withLock { state in
            state.reserved -= bytes
            let waiters = state.baseWaiters.removeValue(forKey: base.fingerprint) ?? []
            let result = loaded.map { model in
                if let shared = state.instances[base.fingerprint] { return shared }
                state.nextID += 1
                let instance = LoadedModel(id: state.nextID, model: model, fingerprint: base.fingerprint)
                state.instances[base.fingerprint] = instance
                state.used += instance.bytes
                return instance
            }
            return (result, waiters)
        }
        for waiter in waiters { waiter.resume(with: result.map { $0 as LoadedModel? }) }
        return try result.get()
    }

    /// Ends a load: hands the outcome to every waiter and records the entry's new phase.
    private func finish(_ name: String, with result: Result<Lease, InferenceError>, outcome: String?) {
        let waiters: [CheckedContinuation<Lease, any Error>] = state.withLock { state in
            guard case .loading(let waiters) = state.entries[name]?.phase else { return [] }
            switch result {
            case .success(let lease):
                state.entries[name]?.phase = .ready(lease)
                state.entries[name]?.leases += waiters.count
                state.entries[name]?.lastUsed = .now
            case .failure(.unknownModel):
                state.entries[name] = nil
            case .failure(.cannotFit):
                state.entries[name]?.phase = .idle(reason: "does not fit the memory budget")
            case .failure(let error):
                if case .modelUnavailable(_, let reason) = error {
                    state.entries[name]?.phase = .failed(reason: reason)
                } else {
                    state.entries[name]?.phase = .failed(reason: error.description)
                }
            }
            return waiters
        }
        if let outcome {
            metrics.countLoad(name, outcome: outcome)
            if case .success = result { metrics.model(name).cacheMisses.increment(by: waiters.count) }
        }
        for waiter in waiters { waiter.resume(with: result) }
        publishGauges()
    }

    // MARK: Memory

    /// Evicts least recently used idle, unpinned instances until `bytes` more fit the budget; evicts nothing if
    /// even evicting all of them would not make room.
    private func makeRoom(for bytes: Int, name: String, in state: inout State) throws(InferenceError) {
        guard let budget = configuration.limits.memoryBudget else { return }
        // One pass over entries and instances, so that a load costs O(models), not O(models²), with thousands loaded.
        var namesByInstance: [ObjectIdentifier: [String]] = [:]
        for (entryName, entry) in state.entries {
            if case .ready(let lease) = entry.phase { namesByInstance[ObjectIdentifier(lease.instance), default: []].append(entryName) }
        }
        let basesOfHeads = Set(state.instances.values.compactMap { $0.model.base.map(ObjectIdentifier.init) })
        var candidates = state.instances.values.compactMap { instance -> (LoadedModel, ContinuousClock.Instant)? in
            let names = namesByInstance[ObjectIdentifier(instance)] ?? []
            // A base stays while heads use it; it goes with the last of them (see `detach`).
            guard !names.isEmpty, !basesOfHeads.contains(ObjectIdentifier(instance.model)) else { return nil }
            let idle = names.allSatisfy { (state.entries[$0]?.leases ?? 0) == 0 && !configuration.pinned.contains($0) }
            guard idle else { return nil }
            let lastUsed = names.compactMap { state.entries[$0]?.lastUsed }.max() ?? .now
            return (instance, lastUsed)
        }
        let freeable = candidates.reduce(0) { $0 + $1.0.bytes }
        guard state.used + state.reserved + bytes - freeable <= budget else {
            throw .cannotFit(name: name, bytes: bytes, budget: max(0, budget - (state.used + state.reserved - freeable)))
        }
        candidates.sort { $0.1 < $1.1 }
        for (instance, _) in candidates where state.used + state.reserved + bytes > budget {
            for evicted in namesByInstance[ObjectIdentifier(instance)] ?? [] {
                detach(evicted, reason: "evicted", in: &state)
                metrics.model(evicted).evictions.increment()
                configuration.logger.info("evicted model", metadata: ["model": "\(evicted)", "for": "\(name)"])
            }
        }
    }

    /// Takes `name` out of memory; its instance goes when no other name holds it.
    private func detach(_ name: String, reason: String, in state: inout State) {
        guard case .ready(let lease) = state.entries[name]?.phase else {
            if case .failed = state.entries[name]?.phase { state.entries[name]?.phase = .idle(reason: reason) }
            return
        }
        state.entries[name]?.phase = .idle(reason: reason)
        release(lease.instance, in: &state)
    }

    /// Drops an instance no name and no head holds any more, then its base if that is left unused too.
    private func release(_ instance: LoadedModel, in state: inout State) {
        guard names(of: instance, in: state).isEmpty, !hasHeads(instance, in: state),
              state.instances[instance.fingerprint] === instance else { return }
        state.instances[instance.fingerprint] = nil
        state.used -= instance.bytes
        if let base = instance.model.base, let baseInstance = state.instances.values.first(where: { $0.model === base }) {
            release(baseInstance, in: &state)
        }
    }

    /// Whether loaded heads share this instance's encoder.
    private func hasHeads(_ instance: LoadedModel, in state: State) -> Bool {
        state.instances.values.contains { $0.model.base === instance.model }
    }

    private func names(of instance: LoadedModel, in state: State) -> [String] {
        state.entries.compactMap { name, entry in
            guard case .ready(let lease) = entry.phase, lease.instance === instance else { return nil }
            return name
        }
    }

    private func publishGauges() {
        let (loaded, used) = state.withLock { state in
            (state.entries.values.filter { if case .ready = $0.phase { true } else { false } }.count, state.used)
        }
        metrics.modelsLoaded.record(loaded)
        metrics.memoryUsed.record(used)
    }

    /// Hands the heap pages of freed models back to the system, so that resident memory follows the accounting.
    private static func returnFreedMemory() {
        #if canImport(Glibc)
        // glibc keeps freed heap pages for reuse; malloc_trim (not in the Glibc module map) gives them back.
        typealias MallocTrim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(nil, "malloc_trim") {
            _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        }
        #endif
    }

    /// Bytes to reserve while a model folder loads: its parameters as float32, from its headers alone, which
    /// no provider packs into fewer bytes; the loaded model's exact `parameterBytes` replace the reservation.
    /// 0 when the files cannot tell, in which case loading them reports why.
    private static func estimatedBytes(folder: URL) -> Int {
        (try? Model.minimumParameterBytes(folder: folder)) ?? 0
    }
}

extension InferenceError {
    var isCannotFit: Bool {
        if case .cannotFit = self { return true }
        return false
    }
}
