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
///
/// Every operation on one model costs the same however many models the registry knows: names and instances
/// are found by key, the idle instances are kept in least-recently-used order as they become idle, and the
/// counts the gauges show are kept as they change.
final class ModelRegistry: Sendable {
    /// A model handed to one request; give it back with `release(_:)`.
    struct Lease: Sendable {
        let name: String
        let version: String
        let instance: LoadedModel
        let counters: ModelCounters

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

    /// A name the registry knows: what state its model is in, and its statistics.
    private struct Entry {
        var phase: Phase
        let counters: ModelCounters
    }

    /// One loaded instance and what holds it in memory.
    private struct Slot {
        let instance: LoadedModel
        /// The slot of the encoder this head runs over.
        let base: Int?
        /// Names ready with this instance, and how many of them are pinned.
        var names: Set<String> = []
        var pinnedNames = 0
        /// Requests using it now.
        var leases = 0
        /// Heads loaded (or loading) over this instance's encoder.
        var heads = 0

        /// Whether eviction may take it: named, and nothing uses or pins it.
        var isEvictable: Bool { !names.isEmpty && pinnedNames == 0 && leases == 0 && heads == 0 }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var slots: [Int: Slot] = [:]
        /// The slot of each fingerprint loaded.
        var byFingerprint: [String: Int] = [:]
        /// Evictable slots, the one idle longest first, and their bytes.
        var idle = LeastRecentlyUsed<Int>()
        var idleBytes = 0
        /// Bytes of the loaded instances.
        var used = 0
        /// Bytes set aside for loads in progress.
        var reserved = 0
        /// Names whose model is ready.
        var ready = 0
        /// Bytes of instances dropped since memory was last handed back to the system.
        var freedSinceTrim = 0
        var nextID = 0
        /// Heads waiting for a base that another head is loading, by the base's fingerprint.
        var baseWaiters: [String: [CheckedContinuation<LoadedModel?, any Error>]] = [:]

        /// Changes slot `id`, keeping the idle order: a slot that becomes evictable is the most recent, one that
        /// stops being evictable leaves the order.
        mutating func update(_ id: Int, _ change: (inout Slot) -> Void) {
            guard var slot = slots[id] else { return }
            let was = slot.isEvictable
            change(&slot)
            slots[id] = slot
            switch (was, slot.isEvictable) {
            case (true, false):
                idle.remove(id)
                idleBytes -= slot.instance.bytes
            case (false, true):
                idle.append(id)
                idleBytes += slot.instance.bytes
            default:
                break
            }
        }

        /// Adds a loaded instance, holding its base.
        mutating func insert(_ instance: LoadedModel, base: Int?) {
            slots[instance.id] = Slot(instance: instance, base: base)
            byFingerprint[instance.fingerprint] = instance.id
            used += instance.bytes
        }

        /// Drops slot `id` once no name and no head holds it, then its base if that is left unheld too.
        mutating func dropIfUnheld(_ id: Int) {
            guard let slot = slots[id], slot.names.isEmpty, slot.heads == 0 else { return }
            slots[id] = nil
            if byFingerprint[slot.instance.fingerprint] == id { byFingerprint[slot.instance.fingerprint] = nil }
            used -= slot.instance.bytes
            freedSinceTrim += slot.instance.bytes
            if let base = slot.base { releaseBase(base) }
        }

        /// Whether enough was freed to hand memory back to the system now (see `returnFreedMemory`): a small
        /// head's freed bytes are reused by the next load, and the trim walks the whole heap, so it waits until
        /// `trimEvery` bytes were freed.
        mutating func takeTrim() -> Bool {
            guard freedSinceTrim >= ModelRegistry.trimEvery else { return false }
            freedSinceTrim = 0
            return true
        }

        /// Ends one head's hold on base slot `id`.
        mutating func releaseBase(_ id: Int) {
            update(id) { $0.heads -= 1 }
            dropIfUnheld(id)
        }
    }

    /// Bytes freed by evictions before resident memory is handed back to the system.
    static let trimEvery = 64 << 20

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
            state.update(lease.instance.id) { $0.leases += 1 }
            return lease
        }
        if let hit {
            hit.counters.update { $0.cacheHits += 1 }
            metrics.cacheHits.increment()
            return hit
        }
        guard ModelReference.isValidName(name) else { throw InferenceError.unknownModel(name) }
        return try await withCheckedThrowingContinuation { continuation in
            let startLoad: Bool = state.withLock { state in
                switch state.entries[name]?.phase {
                case .ready(let lease):
                    state.update(lease.instance.id) { $0.leases += 1 }
                    continuation.resume(returning: lease)
                case .loading(let waiters):
                    state.entries[name]?.phase = .loading(waiters: waiters + [continuation])
                case .failed(let reason):
                    continuation.resume(throwing: InferenceError.modelUnavailable(name: name, reason: reason))
                case .idle:
                    state.entries[name]?.phase = .loading(waiters: [continuation])
                    return true
                case nil:
                    state.entries[name] = Entry(phase: .loading(waiters: [continuation]), counters: ModelCounters(name: name))
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
    func release(_ lease: Lease) {
        state.withLock { state in
            // Taken out of the idle order and put back as its most recent: the order is by last use.
            state.update(lease.instance.id) { $0.leases -= 1 }
        }
    }

    /// Loads `name` now; reloads it from its files when it is loaded already, and retries a failed load.
    func load(explicitly name: String) async throws -> Lease {
        try await unload(name)
        let lease = try await acquire(name)
        release(lease)
        return lease
    }

    /// Drops `name` from memory (its instance goes when no other name shares it); in-flight requests finish.
    func unload(_ name: String) async throws {
        if case .loading = state.withLock({ $0.entries[name]?.phase }) {
            if let lease = try? await acquire(name) { release(lease) }
        }
        state.withLock { state in
            guard state.entries[name] != nil else { return }
            detach(name, reason: "unloaded", in: &state)
            state.freedSinceTrim = 0
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

    /// The statistics of `name` when the registry knows it (it has been asked for since the start).
    func statistics(of name: String) -> ModelStatistics? {
        state.withLock { $0.entries[name]?.counters }?.snapshot
    }

    /// The statistics of the `count` models that answered most requests, busiest first, and of the pinned ones.
    func busiest(_ count: Int) -> [ModelStatistics] {
        guard count > 0 else { return [] }
        let all = state.withLock { $0.entries.values.map(\.counters) }
        var top: [(requests: Int, counters: ModelCounters)] = []
        for counters in all {
            let requests = counters.requests
            guard requests > 0, top.count < count || requests > top[top.count - 1].requests else { continue }
            let position = top.firstIndex { $0.requests < requests } ?? top.count
            top.insert((requests, counters), at: position)
            if top.count > count { top.removeLast() }
        }
        var chosen = top.map(\.counters.snapshot)
        let shown = Set(chosen.map(\.name))
        for name in configuration.pinned.sorted() where !shown.contains(name) {
            if let statistics = statistics(of: name) { chosen.append(statistics) }
        }
        return chosen
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
        // The base slot this load holds (a head's encoder), until the head's own slot takes the hold over.
        var heldBase: Int?
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
            let counters = try counters(of: name)
            if let shared = state.withLock({ state in state.byFingerprint[fingerprint].flatMap { state.slots[$0]?.instance } }) {
                finish(name, with: .success(Lease(name: name, version: location.version, instance: shared, counters: counters)),
                       outcome: "shared")
                return
            }
            // A head holds its base before making room for itself, so that evicting the last other head cannot
            // take the base out of memory only for this head to load it again.
            var encoder: LoadedModel?
            if let base = location.base {
                encoder = try await sharedBase(base, for: name)
                heldBase = encoder?.id
            }
            let bytes = Self.estimatedBytes(folder: folder)
            let trim = try state.withLock { state throws(InferenceError) in
                try makeRoom(for: bytes, name: name, in: &state)
                state.reserved += bytes
                return state.takeTrim()
            }
            reservation = bytes  // only now taken: the error path gives back what was taken, no more
            if trim { Self.returnFreedMemory() }
            let options = configuration.modelOptions
            let model: Model
            if let encoder {
                model = try await Thread.run(named: "shoal-load") { try Model(base: encoder.model, head: folder) }
            } else {
                model = try await Thread.run(named: "shoal-load") { try Model(folder: folder, options: options) }
            }
            let family = location.base?.name ?? name
            let lease = try state.withLock { state throws(InferenceError) -> Lease in
                state.reserved -= bytes
                reservation = 0
                if let id = state.byFingerprint[fingerprint], let shared = state.slots[id] {
                    return Lease(name: name, version: location.version, instance: shared.instance, counters: counters)
                }
                state.nextID += 1
                let instance = LoadedModel(id: state.nextID, model: model, fingerprint: fingerprint, family: family)
                try makeRoom(for: instance.bytes, name: name, in: &state)
                state.insert(instance, base: heldBase)
                heldBase = nil
                return Lease(name: name, version: location.version, instance: instance, counters: counters)
            }
            if let heldBase { state.withLock { $0.releaseBase(heldBase) } }  // an identical head was loaded meanwhile
            let duration = started.duration(to: clock.now)
            metrics.workload(lease.instance).loadDuration.record(duration: duration)
            counters.update {
                $0.loads += 1
                $0.loadSeconds += duration.seconds
            }
            configuration.logger.info("loaded model", metadata: [
                "model": "\(name)", "bytes": "\(lease.instance.bytes)", "duration": "\(duration)",
            ])
            finish(name, with: .success(lease), outcome: "loaded")
        } catch {
            state.withLock { state in
                state.reserved -= reservation
                if let heldBase { state.releaseBase(heldBase) }
            }
            let failure = (error as? InferenceError)
                ?? .modelUnavailable(name: name, reason: (error as? ModelError)?.description ?? "\(error)")
            configuration.logger.error("cannot load model", metadata: ["model": "\(name)", "error": "\(failure)"])
            finish(name, with: .failure(failure), outcome: failure.isCannotFit ? "no_room" : "failed")
        }
    }

    /// The counters of `name`, whose load is under way.
    private func counters(of name: String) throws(InferenceError) -> ModelCounters {
        guard let counters = state.withLock({ $0.entries[name]?.counters }) else { throw .shuttingDown }
        return counters
    }

    /// The loaded instance of a head's base, held for the head (release the hold with `State.releaseBase`),
    /// loading it (within the budget) if nothing holds it yet; heads that ask while it loads wait for that one load.
    private func sharedBase(_ base: SharedBase, for name: String) async throws -> LoadedModel {
        let bytes = Self.estimatedBytes(folder: base.folder)
        // nil: this head loads the base; the others get the instance it loads (or its error).
        let ready: LoadedModel? = try await withCheckedThrowingContinuation { continuation in
            state.withLock { state in
                if let id = state.byFingerprint[base.fingerprint], let loaded = state.slots[id]?.instance {
                    state.update(id) { $0.heads += 1 }
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
        let clock = ContinuousClock()
        let started = clock.now
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
            let result = loaded.map { model -> LoadedModel in
                let id: Int
                if let shared = state.byFingerprint[base.fingerprint] {
                    id = shared
                } else {
                    state.nextID += 1
                    id = state.nextID
                    state.insert(LoadedModel(id: id, model: model, fingerprint: base.fingerprint, family: base.name), base: nil)
                }
                state.update(id) { $0.heads += 1 + waiters.count }
                return state.slots[id]!.instance
            }
            return (result, waiters)
        }
        for waiter in waiters { waiter.resume(with: result.map { $0 as LoadedModel? }) }
        if case .success(let instance) = result {
            metrics.countLoad(outcome: "loaded")
            metrics.workload(instance).loadDuration.record(duration: started.duration(to: clock.now))
            configuration.logger.info("loaded the base of heads", metadata: [
                "model": "\(base.name)", "for": "\(name)", "bytes": "\(instance.bytes)",
            ])
        } else {
            metrics.countLoad(outcome: "failed")
        }
        return try result.get()
    }

    /// Ends a load: hands the outcome to every waiter and records the entry's new phase.
    private func finish(_ name: String, with result: Result<Lease, InferenceError>, outcome: String?) {
        let pinned = configuration.pinned.contains(name)
        let waiters: [CheckedContinuation<Lease, any Error>] = state.withLock { state in
            guard case .loading(let waiters) = state.entries[name]?.phase else { return [] }
            switch result {
            case .success(let lease):
                state.entries[name]?.phase = .ready(lease)
                state.ready += 1
                state.update(lease.instance.id) { slot in
                    slot.names.insert(name)
                    if pinned { slot.pinnedNames += 1 }
                    slot.leases += waiters.count
                }
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
            metrics.countLoad(outcome: outcome)
            if case .success(let lease) = result {
                lease.counters.update { $0.cacheMisses += waiters.count }
                metrics.cacheMisses.increment(by: waiters.count)
            }
        }
        for waiter in waiters { waiter.resume(with: result) }
        publishGauges()
    }

    // MARK: Memory

    /// Evicts the idle, unpinned instances used longest ago until `bytes` more fit the budget; evicts nothing if
    /// even evicting all of them would not make room.
    private func makeRoom(for bytes: Int, name: String, in state: inout State) throws(InferenceError) {
        guard let budget = configuration.limits.memoryBudget else { return }
        guard state.used + state.reserved + bytes - state.idleBytes <= budget else {
            throw .cannotFit(name: name, bytes: bytes, budget: max(0, budget - (state.used + state.reserved - state.idleBytes)))
        }
        while state.used + state.reserved + bytes > budget, let oldest = state.idle.oldest, let slot = state.slots[oldest] {
            for victim in slot.names.sorted() {
                detach(victim, reason: "evicted", in: &state)
                state.entries[victim]?.counters.update { $0.evictions += 1 }
                metrics.evictions.increment()
                configuration.logger.info("evicted model", metadata: ["model": "\(victim)", "for": "\(name)"])
            }
        }
    }

    /// Takes `name` out of memory; its instance goes when no other name and no head holds it.
    private func detach(_ name: String, reason: String, in state: inout State) {
        guard case .ready(let lease) = state.entries[name]?.phase else {
            if case .failed = state.entries[name]?.phase { state.entries[name]?.phase = .idle(reason: reason) }
            return
        }
        state.entries[name]?.phase = .idle(reason: reason)
        state.ready -= 1
        let pinned = configuration.pinned.contains(name)
        state.update(lease.instance.id) { slot in
            slot.names.remove(name)
            if pinned { slot.pinnedNames -= 1 }
        }
        state.dropIfUnheld(lease.instance.id)
    }

    private func publishGauges() {
        let (ready, used) = state.withLock { ($0.ready, $0.used) }
        metrics.modelsLoaded.record(ready)
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
