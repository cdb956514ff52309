import Foundation
import ShoalTensor
import Testing

@Suite struct ThreadRunTests {
    struct Refused: Error, Equatable {}

    /// The name the system gives the calling thread, as `top -H` shows it.
    static func systemThreadName() -> String? {
        #if os(Linux)
        (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
        #else
        var name = [CChar](repeating: 0, count: 64)
        pthread_getname_np(pthread_self(), &name, name.count)
        return String(cString: name)
        #endif
    }

    @Test("Thread.run runs the body on a named thread of its own and hands back its value or its error")
    func runsOnANamedThread() async throws {
        // A new thread that runs before `start()` returns keeps its starter's name unless it names itself: many
        // runs give that race its chance (one in a few hundred on two cores, most often on one).
        for _ in 0..<500 {
            let seen = try await Thread.run(named: "shoal-test") { (Thread.current.name, Self.systemThreadName(), Thread.isMainThread) }
            #expect(seen.0 == "shoal-test")
            #expect(seen.1 == "shoal-test", "the name top -H shows")
            #expect(!seen.2)
            if seen.0 != "shoal-test" || seen.1 != "shoal-test" { break }
        }
        let long = try await Thread.run(named: "shoal-train-embed") { Self.systemThreadName() }
        #expect(long == "shoal-train-emb", "the system keeps 15 bytes")
        await #expect(throws: Refused.self) { try await Thread.run(named: "shoal-test") { () throws -> Int in throw Refused() } }
    }
}
