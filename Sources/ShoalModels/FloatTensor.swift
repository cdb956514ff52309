/// Read-only float32 data with its shape; keeps its storage (the mapping or an owned buffer) alive.
public struct FloatTensor: Sendable {
    /// Dimensions, outermost first; the data is row-major.
    public let shape: [Int]
    private let storage: Storage

    /// Number of elements.
    public var count: Int { storage.count }

    /// First element; valid while this value (or a copy) is alive.
    ///
    /// Swift may end a value's lifetime at its last use, which can come before the pointer's: keep the tensor
    /// alive with `withExtendedLifetime` (or use `withUnsafeBufferPointer`) around every use of the pointer.
    public var pointer: UnsafePointer<Float> { storage.base }

    /// Copies `values` into a new tensor of the given shape, throwing `ModelError.invalidInput` when the counts differ.
    public init(shape: [Int], values: [Float]) throws {
        guard Self.elementCount(shape) == values.count else {
            throw ModelError.invalidInput("\(values.count) values do not fill a tensor of shape \(shape)")
        }
        self.init(shape: shape, storage: Storage(count: values.count) { buffer in
            _ = buffer.initialize(from: values)
        })
    }

    /// The number of elements of `shape`, or nil when a dimension is negative or the product overflows.
    static func elementCount(_ shape: [Int]) -> Int? {
        shape.reduce(Optional(1)) { count, dimension in
            guard let count, dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            return overflow ? nil : product
        }
    }

    init(shape: [Int], storage: Storage) {
        self.shape = shape
        self.storage = storage
    }

    /// Calls `body` with the elements, keeping the storage alive for the duration of the call.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) {
            try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
        }
    }
}

extension FloatTensor {
    /// Float32 elements either borrowed from a memory-mapped file or owned.
    final class Storage: Sendable {
        // Never written after init, so the pointer can be shared across threads.
        nonisolated(unsafe) let base: UnsafePointer<Float>
        let count: Int
        /// Keeps a borrowed mapping alive; nil when `base` is owned.
        private let mapping: MappedFile?

        /// Borrows `count` aligned floats at `base` inside `mapping`.
        init(borrowing base: UnsafePointer<Float>, count: Int, from mapping: MappedFile) {
            self.base = base
            self.count = count
            self.mapping = mapping
        }

        /// Allocates `count` floats and lets `initialize` fill all of them.
        init(count: Int, initialize: (UnsafeMutableBufferPointer<Float>) -> Void) {
            let base = UnsafeMutablePointer<Float>.allocate(capacity: count)
            initialize(UnsafeMutableBufferPointer(start: base, count: count))
            self.base = UnsafePointer(base)
            self.count = count
            self.mapping = nil
        }

        deinit {
            if mapping == nil {
                UnsafeMutablePointer(mutating: base).deallocate()
            }
        }
    }
}
