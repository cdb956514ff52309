import ShoalTensor
import Synchronization
import Testing

@Suite("Compute pool")
struct ComputePoolTests {
    @Test("every item of thousands of back-to-back regions runs exactly once", arguments: [1, 2, 3, 4])
    func itemsRunOnce(threads: Int) {
        let pool = ComputePool(threads: threads)
        let runs = Mutex([Int](repeating: 0, count: 64))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let count = Int.random(in: 1...64, using: &generator)
            runs.withLock { $0 = [Int](repeating: 0, count: 64) }
            pool.parallelFor(count) { index in runs.withLock { $0[index] += 1 } }
            let counted = runs.withLock { $0 }
            guard counted[..<count].allSatisfy({ $0 == 1 }), counted[count...].allSatisfy({ $0 == 0 }) else {
                Issue.record("region of \(count) items ran \(counted)")
                return
            }
        }
    }
}
