import Foundation

extension Thread {
    /// Runs blocking `body` (file I/O, model loading, compute) on a new thread of its own, off the cooperative pool.
    public static func run<T: Sendable>(named name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                // Named from inside: the system thread takes the name only from itself, for `top -H`.
                Thread.current.name = name
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
