import ShoalKernels
import Synchronization

/// The compute threads of the engine: a fork-join pool for the kernels, used by one forward pass at a time.
public final class ComputePool: Sendable {
    /// The number of threads a forward pass runs on, the caller included.
    public let threads: Int
    // The raw pool is reentrant for nobody: `lock` hands it to one forward pass at a time.
    nonisolated(unsafe) private let pool: OpaquePointer?
    private let lock = Mutex(())
    private let workspace = Workspace()

    /// Starts `threads - 1` worker threads; the thread calling `withPool` is the last one.
    public init(threads: Int) {
        // OpenBLAS runs single-threaded inside the pool's tasks, so its threads never compete with the pool's.
        GemmProvider.setBLASThreads(1)
        let pool = shoal_pool_create(Int32(max(threads, 1)))
        self.threads = Int(shoal_pool_threads(pool))
        self.pool = pool
    }

    deinit {
        shoal_pool_destroy(pool)
    }

    /// Runs `body` with exclusive use of the pool's threads and its workspace.
    public func withPool<R>(_ body: (OpaquePointer?, Workspace) throws -> R) rethrows -> R {
        try lock.withLock { _ in try body(pool, workspace) }
    }

    /// Runs `body(i)` for every i in `0..<count` on the pool's threads and returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        withPool { raw, _ in Self.parallelFor(raw, count, body) }
    }

    /// `parallelFor` on a raw pool handed out by `withPool`.
    static func parallelFor(_ raw: OpaquePointer?, _ count: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { context in
                shoal_pool_run(raw, Int64(count), { context, index, _ in
                    context?.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(index))
                }, context)
            }
        }
    }

    /// Bytes of scratch memory the pool's workspace holds.
    public var workspaceBytes: Int { lock.withLock { _ in workspace.bytes } }
}
