/// The versions a `ModelCache` holds, least recently used first, with their bytes: every operation O(1).
///
/// A doubly linked list threaded through a dictionary by folder path; the total counts cached bytes plus
/// bytes reserved for downloads under way, so that concurrent downloads together stay within the limit.
struct CacheIndex: Sendable {
    private struct Entry: Sendable {
        var bytes: Int64
        var older: String?
        var newer: String?
    }

    private var entries: [String: Entry] = [:]
    private var oldest: String?
    private var newest: String?
    /// Bytes of the cached versions.
    private(set) var cached: Int64 = 0
    /// Bytes reserved for downloads not yet in place.
    private(set) var reserved: Int64 = 0

    /// Cached versions, least recently used first; O(n), for tests and messages.
    var order: [String] {
        var keys: [String] = []
        var key = oldest
        while let current = key {
            keys.append(current)
            key = entries[current]?.newer
        }
        return keys
    }

    func contains(_ key: String) -> Bool {
        entries[key] != nil
    }

    /// Adds `key` as the most recently used, or marks it so when present (its bytes unchanged).
    mutating func use(_ key: String, bytes: Int64) {
        if let entry = entries[key] {
            unlink(key, entry)
            link(key, bytes: entry.bytes)
        } else {
            link(key, bytes: bytes)
            cached += bytes
        }
    }

    /// Forgets `key`; returns whether it was there.
    @discardableResult
    mutating func remove(_ key: String) -> Bool {
        guard let entry = entries[key] else { return false }
        unlink(key, entry)
        cached -= entry.bytes
        return true
    }

    /// Reserves `bytes` within `limit`, forgetting least recently used versions (never `keeping`) until they
    /// fit; returns the forgotten keys, whose folders the caller deletes.
    mutating func reserve(_ bytes: Int64, within limit: Int64, keeping: String) -> [String] {
        var evicted: [String] = []
        var key = oldest
        while cached + reserved + bytes > limit, let current = key {
            key = entries[current]?.newer
            guard current != keeping else { continue }
            remove(current)
            evicted.append(current)
        }
        reserved += bytes
        return evicted
    }

    /// Ends a reservation of `bytes` (the download is in place, or failed).
    mutating func release(_ bytes: Int64) {
        reserved -= bytes
    }

    private mutating func link(_ key: String, bytes: Int64) {
        entries[key] = Entry(bytes: bytes, older: newest, newer: nil)
        if let newest { entries[newest]?.newer = key }
        newest = key
        if oldest == nil { oldest = key }
    }

    private mutating func unlink(_ key: String, _ entry: Entry) {
        if let older = entry.older { entries[older]?.newer = entry.newer } else { oldest = entry.newer }
        if let newer = entry.newer { entries[newer]?.older = entry.older } else { newest = entry.older }
        entries[key] = nil
    }
}
