import Foundation

/// A growable float buffer aligned for 512-bit loads, reused across calls so the steady state allocates nothing.
public final class AlignedBuffer: @unchecked Sendable {
    // Unchecked: the buffer is mutated only by the thread that owns the enclosing Workspace.
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    /// Creates a buffer of `count` floats, zero-filled.
    public init(count: Int = 0) {
        capacity = max(count, 16)
        pointer = AlignedBuffer.allocate(capacity)
    }

    deinit { free(pointer) }

    /// Makes room for `count` floats, dropping the old contents when it has to grow.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            free(pointer)
            capacity = max(count, capacity * 3 / 2)
            pointer = AlignedBuffer.allocate(capacity)
        }
        return pointer
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        let bytes = (count * MemoryLayout<Float>.stride + 63) / 64 * 64
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            preconditionFailure("out of memory allocating \(bytes) bytes")
        }
        memset(raw, 0, bytes)
        return raw.bindMemory(to: Float.self, capacity: count)
    }
}
