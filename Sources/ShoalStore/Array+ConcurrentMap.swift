extension Array where Element: Sendable {
    /// `transform` of every element, in order, with at most `width` of them running at once.
    public func concurrentMap<T: Sendable>(
        width: Int, _ transform: @escaping @Sendable (Element) async throws -> T
    ) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: count)
            var next = 0
            func start() {
                let index = next
                let element = self[index]
                group.addTask { (index, try await transform(element)) }
                next += 1
            }
            while next < Swift.min(width, count) { start() }
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < count { start() }
            }
            return results.compactMap { $0 }
        }
    }
}
