import Foundation
import ShoalKernels

extension Thread {
    /// Runs blocking `body` (file I/O, model loading, compute) on a new thread of its own, off the cooperative pool.
    public static func run<T: Sendable>(named name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                // Named from inside, for `top -H`: Foundation names the system thread only once `start()` has
                // recorded it, which a new thread can outrun, keeping the name of the thread that started it.
                shoal_name_this_thread(name)
                Thread.current.name = name
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
