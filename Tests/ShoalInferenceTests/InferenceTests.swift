import Foundation
import ShoalInference
import ShoalModels
import Testing

@Suite struct InferenceTests {
    let folders: ModelFolders

    init() throws {
        folders = try ModelFolders()
        try folders.embedding("embed")
        try folders.classifier("classify")
    }

    private func engine(_ adjust: (inout InferenceConfiguration) -> Void = { _ in }) throws -> (Inference, CountingSource) {
        var configuration = InferenceConfiguration()
        configuration.threads = 1
        adjust(&configuration)
        let source = CountingSource(root: folders.root)
        return (try Inference(source: source, configuration: configuration), source)
    }

    @Test func batchedEqualsOneByOne() async throws {
        let (engine, _) = try engine()
        let texts = ["hello world", "the quick brown fox jump over the lazy dog", "a", "good movie", "bad film !"]
        try await withRunningEngine(engine) {
            let batched = try await engine.infer(model: "embed", texts: texts)
            #expect(batched.outputs.count == texts.count)
            for (text, row) in zip(texts, batched.outputs) {
                let single = try await engine.infer(model: "embed", texts: [text]).outputs[0]
                #expect(single.count == row.count)
                // Tolerance: a batch changes only the order of float sums within GEMM tiles.
                #expect(zip(single, row).allSatisfy { abs($0 - $1) <= 1e-5 })
            }
        }
    }

    @Test func classifierReturnsProbabilitiesPerLabel() async throws {
        let (engine, _) = try engine()
        try await withRunningEngine(engine) {
            let result = try await engine.infer(model: "classify", texts: ["good", "bad"])
            #expect(result.model.task == .classification(labels: ["NEGATIVE", "POSITIVE"]))
            for row in result.outputs {
                #expect(row.count == 2)
                #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            }
        }
    }

    @Test func concurrentFirstRequestsLoadOnce() async throws {
        let (engine, source) = try engine()
        try await withRunningEngine(engine) {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<32 {
                    group.addTask { try await engine.infer(model: "embed", texts: ["text \(index)"]).outputs.count }
                }
                for try await count in group { #expect(count == 1) }
            }
        }
        #expect(source.locations(of: "embed") == 1)
    }

    @Test func countsTokensAfterTruncation() async throws {
        let (engine, _) = try engine()
        let long = Array(repeating: "word", count: 200).joined(separator: " ")
        try await withRunningEngine(engine) {
            let result = try await engine.infer(model: "embed", texts: ["hello world", long])
            // "hello world" is [CLS] hello world [SEP]; the long text is cut to the model's 48 tokens.
            #expect(result.tokenCount == 4 + result.model.maxSequenceLength)
        }
    }

    @Test func refusesOverLongTextWithoutTruncation() async throws {
        let (engine, _) = try engine { $0.truncate = false }
        let long = Array(repeating: "word", count: 200).joined(separator: " ")
        try await withRunningEngine(engine) {
            await #expect(throws: InferenceError.self) { try await engine.infer(model: "embed", texts: [long]) }
            let short = try await engine.infer(model: "embed", texts: ["short"])
            #expect(short.outputs.count == 1)
        }
    }

    @Test func refusesBadInputsBeforeLoading() async throws {
        let (engine, source) = try engine { $0.limits.maxInputsPerRequest = 2; $0.limits.maxTextBytes = 10 }
        await #expect(throws: InferenceError.invalidInput("no input text; send at least one")) {
            try await engine.infer(model: "embed", texts: [])
        }
        await #expect(throws: InferenceError.self) { try await engine.infer(model: "embed", texts: ["a", "b", "c"]) }
        await #expect(throws: InferenceError.self) { try await engine.infer(model: "embed", texts: ["far too long a text"]) }
        #expect(source.locations(of: "embed") == 0)
    }

    @Test func unknownAndUnsafeNamesAreUnknown() async throws {
        let (engine, _) = try engine()
        try await withRunningEngine(engine) {
            for name in ["missing", "..", "../embed", ".hidden"] {
                await #expect(throws: InferenceError.unknownModel(name)) { try await engine.infer(model: name, texts: ["a"]) }
            }
        }
    }

    @Test func corruptModelFailsAlone() async throws {
        try folders.corrupt("broken")
        let (engine, source) = try engine()
        try await withRunningEngine(engine) {
            for _ in 0..<2 {
                await #expect {
                    try await engine.infer(model: "broken", texts: ["a"])
                } throws: { error in
                    guard case .modelUnavailable(let name, let reason) = error as? InferenceError else { return false }
                    return name == "broken" && reason.contains("safetensors")
                }
            }
            #expect(try await engine.infer(model: "embed", texts: ["a"]).outputs.count == 1)
            let broken = try await engine.index().first { $0.name == "broken" }
            #expect(broken?.state == .unavailable)
            #expect(broken?.reason.contains("safetensors") == true)
        }
        // A failed load is kept: the second request did not load again.
        #expect(source.locations(of: "broken") == 1)
    }

    @Test func sameFilesShareOneInstance() async throws {
        try folders.link("alias", to: "embed")
        try FileManager.default.copyItem(at: folders.root.appendingPathComponent("embed"), to: folders.root.appendingPathComponent("copy"))
        let (engine, _) = try engine()
        try await withRunningEngine(engine) {
            let one = try await engine.infer(model: "embed", texts: ["hello"])
            let used = engine.memoryUsed
            #expect(used == one.model.bytes)
            let two = try await engine.infer(model: "alias", texts: ["hello"])
            let three = try await engine.infer(model: "copy", texts: ["hello"])
            #expect(engine.memoryUsed == used)
            #expect(one.outputs == two.outputs && two.outputs == three.outputs)
            let ready = try await engine.index().filter { $0.state == .ready }.map(\.name)
            #expect(Set(ready) == ["embed", "alias", "copy"])
            try await engine.unload(model: "embed")
            #expect(engine.memoryUsed == used)
            try await engine.unload(model: "alias")
            try await engine.unload(model: "copy")
            #expect(engine.memoryUsed == 0)
        }
    }

    @Test func evictsLeastRecentlyUsedUnderBudget() async throws {
        try folders.embedding("second", seed: 11)
        try folders.embedding("third", seed: 12)
        let bytes = try Model(folder: folders.root.appendingPathComponent("embed")).parameterBytes
        let (engine, _) = try engine { $0.limits.memoryBudget = bytes * 5 / 2 }
        try await withRunningEngine(engine) {
            for name in ["embed", "second", "third"] { _ = try await engine.infer(model: name, texts: ["a"]) }
            #expect(try await readyNames(engine) == ["second", "third"])
            #expect(try await engine.index().first { $0.name == "embed" }?.reason == "evicted")
            _ = try await engine.infer(model: "second", texts: ["a"])
            _ = try await engine.infer(model: "embed", texts: ["a"])
            #expect(try await readyNames(engine) == ["embed", "second"])
            #expect(engine.memoryUsed <= bytes * 5 / 2)
        }
    }

    @Test func pinnedModelIsNeverEvicted() async throws {
        try folders.embedding("second", seed: 11)
        let bytes = try Model(folder: folders.root.appendingPathComponent("embed")).parameterBytes
        let (engine, _) = try engine { $0.limits.memoryBudget = bytes * 3 / 2; $0.pinned = ["embed"] }
        try await withRunningEngine(engine) {
            _ = try await engine.infer(model: "embed", texts: ["a"])
            await #expect(throws: InferenceError.self) { try await engine.infer(model: "second", texts: ["a"]) }
            #expect(try await readyNames(engine) == ["embed"])
        }
    }

    /// Every attempt is refused: a refused load gives back no reservation it never took (which once let
    /// the second attempt through, with the reserved total below zero).
    @Test func modelOverBudgetCannotFit() async throws {
        let (engine, _) = try engine { $0.limits.memoryBudget = 1024 }
        try await withRunningEngine(engine) {
            for _ in 0..<3 {
                await #expect {
                    try await engine.infer(model: "embed", texts: ["a"])
                } throws: { error in
                    if case .cannotFit = error as? InferenceError { return true }
                    return false
                }
                #expect(engine.memoryReserved == 0)
                #expect(engine.memoryUsed == 0)
            }
            let status = try await engine.index().first { $0.name == "embed" }
            #expect(status?.state == .unavailable)
        }
    }

    /// The memory books balance after every way a load can end: failed (a truncated weights file), cancelled
    /// by its only client, displacing another model, and racing others under a budget that fits one: nothing
    /// stays reserved, the budget is never exceeded, and unloading what loaded returns the used total to zero.
    @Test func memoryBooksBalanceAfterEveryLoadPath() async throws {
        try folders.corrupt("broken")
        for seed in 11...14 { try folders.embedding("model\(seed)", seed: UInt64(seed)) }
        let bytes = try Model(folder: folders.root.appendingPathComponent("embed")).parameterBytes
        let budget = bytes * 3 / 2
        let (engine, _) = try engine { $0.limits.memoryBudget = budget }
        try await withRunningEngine(engine) {
            func balanced(_ step: String) async throws {
                #expect(engine.memoryReserved == 0, "\(step): bytes still reserved")
                #expect(engine.memoryUsed <= budget, "\(step): over the budget")
                let loaded = try await engine.index().filter { $0.state == .ready }
                #expect(engine.memoryUsed == loaded.count * bytes, "\(step): used \(engine.memoryUsed) for \(loaded.count) models")
            }
            await #expect(throws: InferenceError.self) { try await engine.infer(model: "broken", texts: ["a"]) }
            try await balanced("failed load")

            let cancelled = Task { try await engine.infer(model: "model11", texts: ["a"]) }
            cancelled.cancel()
            _ = await cancelled.result
            try await balanced("cancelled load")

            _ = try await engine.infer(model: "embed", texts: ["a"])
            _ = try await engine.infer(model: "model12", texts: ["a"])
            #expect(try await engine.index().first { $0.name == "embed" }?.reason == "evicted")
            try await balanced("eviction")

            try await withThrowingTaskGroup(of: Void.self) { group in
                for name in ["model11", "model12", "model13", "model14", "broken"] {
                    group.addTask { _ = try? await engine.infer(model: name, texts: ["a"]) }
                }
                try await group.waitForAll()
            }
            try await balanced("concurrent loads")

            for model in try await engine.index() where model.state == .ready { try await engine.unload(model: model.name) }
            #expect(engine.memoryUsed == 0 && engine.memoryReserved == 0)
        }
    }

    /// Readiness, load and unload look up the one model they name: none lists the source, whose size they
    /// would otherwise cost on every probe (1 + 2N requests on an S3 store).
    @Test func explicitLoadAndUnload() async throws {
        let (engine, source) = try engine()
        try await withRunningEngine(engine) {
            #expect(try await engine.isReady(model: "classify") == false)
            let info = try await engine.load(model: "classify")
            #expect(info.dimensions == 2)
            #expect(try await engine.isReady(model: "classify"))
            try await engine.unload(model: "classify")
            await #expect(throws: InferenceError.unknownModel("nope")) { try await engine.unload(model: "nope") }
            await #expect(throws: InferenceError.unknownModel("nope")) { try await engine.isReady(model: "nope") }
            #expect(source.listings == 0)
            #expect(try await engine.index().first { $0.name == "classify" }?.reason == "unloaded")
            #expect(source.listings == 1)
        }
    }

    private func readyNames(_ engine: Inference) async throws -> [String] {
        try await engine.index().filter { $0.state == .ready }.map(\.name).sorted()
    }
}
