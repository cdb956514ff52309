/// Scratch memory of a forward pass, kept between passes so that the steady state allocates nothing.
public final class Workspace: @unchecked Sendable {
    // Unchecked: a workspace is only reachable through `ComputePool.withPool`, which runs one pass at a time.
    private var floats: [AlignedBuffer] = []
    /// Token ids, positions, type ids and sequence offsets of the batch in flight.
    public var ids: [Int32] = []
    public var positions: [Int32] = []
    public var typeIds: [Int32] = []
    public var offsets: [Int32] = []

    public init() {}

    /// A buffer of at least `count` floats for `slot`; its contents are undefined.
    public func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while floats.count <= slot { floats.append(AlignedBuffer()) }
        return floats[slot].reserve(count)
    }

    /// Bytes held by the workspace's float buffers.
    public var bytes: Int { floats.reduce(0) { $0 + $1.capacity * MemoryLayout<Float>.stride } }
}
