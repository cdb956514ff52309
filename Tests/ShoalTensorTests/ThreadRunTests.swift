import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ShoalTensor
import Testing

@Suite struct ThreadRunTests {
    struct Refused: Error, Equatable {}

    @Test("Thread.run runs the body on a named thread of its own and hands back its value or its error")
    func runsOnANamedThread() async throws {
        let seen = try await Thread.run(named: "shoal-test") { () -> (String?, String, Bool) in
            var name = [CChar](repeating: 0, count: 32)
            pthread_getname_np(pthread_self(), &name, name.count)
            let systemName = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return (Thread.current.name, systemName, Thread.isMainThread)
        }
        #expect(seen.0 == "shoal-test")
        #expect(seen.1 == "shoal-test", "the name top -H shows")
        #expect(!seen.2)
        await #expect(throws: Refused.self) { try await Thread.run(named: "shoal-test") { () throws -> Int in throw Refused() } }
    }
}
