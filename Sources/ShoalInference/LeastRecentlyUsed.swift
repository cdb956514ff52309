/// Keys in the order they were last appended, oldest first: append, remove and take the oldest in O(1), so
/// that choosing what to evict costs the same with ten models loaded as with a hundred thousand.
struct LeastRecentlyUsed<Key: Hashable> {
    private struct Links {
        var older: Key?
        var newer: Key?
    }

    private var links: [Key: Links] = [:]
    /// The least recently appended key.
    private(set) var oldest: Key?
    private var newest: Key?

    /// How many keys the list holds.
    var count: Int { links.count }

    func contains(_ key: Key) -> Bool { links[key] != nil }

    /// Makes `key` the most recent, moving it there if it is held already.
    mutating func append(_ key: Key) {
        remove(key)
        links[key] = Links(older: newest, newer: nil)
        if let newest { links[newest]?.newer = key } else { oldest = key }
        newest = key
    }

    /// Takes `key` out of the list; does nothing when it is not there.
    mutating func remove(_ key: Key) {
        guard let link = links.removeValue(forKey: key) else { return }
        if let older = link.older { links[older]?.newer = link.newer } else { oldest = link.newer }
        if let newer = link.newer { links[newer]?.older = link.older } else { newest = link.older }
    }
}
