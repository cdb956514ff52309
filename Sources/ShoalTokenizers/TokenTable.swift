/// An open-addressing hash table from token text, as Unicode scalars, to token id.
///
/// Lookups take a slice of the text being tokenized; the hashes of every prefix of a word come from one
/// pass, and no string is built to probe the table.
struct TokenTable: Sendable {
    /// One occupied or empty slot; a key is never empty, so `length == 0` marks an empty slot.
    private struct Slot: Sendable {
        var start: UInt32 = 0
        var length: UInt32 = 0
        var id: Int32 = 0
        var check: UInt32 = 0
    }

    /// The hash state of the empty key.
    private static let emptyHash: UInt64 = 0xCBF2_9CE4_8422_2325

    private let slots: [Slot]
    private let scalars: [UInt32]
    private let shift: UInt64

    /// The length, in scalars, of the longest key; no longer text can match.
    let longestKey: Int

    /// A table of `entries`; empty keys are left out because no text to look up is empty.
    init(_ entries: [(key: Substring, id: Int32)]) {
        var bits: UInt64 = 4
        while (1 << bits) < 2 * entries.count { bits += 1 }
        var slots = [Slot](repeating: Slot(), count: 1 << bits)
        var scalars: [UInt32] = []
        var longestKey = 0
        for (key, id) in entries where !key.isEmpty {
            var hash = Self.emptyHash
            let start = scalars.count
            for scalar in key.unicodeScalars {
                hash = Self.extend(hash, with: scalar)
                scalars.append(scalar.value)
            }
            let length = scalars.count - start
            longestKey = max(longestKey, length)
            let (index, check) = Self.position(of: hash, shift: 64 - bits)
            var slot = index
            while slots[slot].length != 0 { slot = (slot + 1) & (slots.count - 1) }
            slots[slot] = Slot(start: UInt32(start), length: UInt32(length), id: id, check: check)
        }
        self.slots = slots
        self.scalars = scalars
        self.shift = 64 - bits
        self.longestKey = longestKey
    }

    /// The hash state of a key extended by one scalar (FNV-1a over scalar values).
    @inline(__always)
    private static func extend(_ hash: UInt64, with scalar: Unicode.Scalar) -> UInt64 {
        (hash ^ UInt64(scalar.value)) &* 0x0000_0100_0000_01B3
    }

    /// The id and end of the longest key that `word[start...]` begins with, or nil when none does.
    ///
    /// `hashes` is scratch space for at least `longestKey` hash states.
    func longestPrefix(
        of word: UnsafeBufferPointer<Unicode.Scalar>, from start: Int, hashes: UnsafeMutableBufferPointer<UInt64>
    ) -> (id: Int32, end: Int)? {
        let limit = min(word.count, start + longestKey)
        var hash = Self.emptyHash
        for index in start..<limit {
            hash = Self.extend(hash, with: word[index])
            hashes[index - start] = hash
        }
        return slots.withUnsafeBufferPointer { slots in
            scalars.withUnsafeBufferPointer { scalars in
                var end = limit
                while end > start {
                    let key = UnsafeBufferPointer(rebasing: word[start..<end])
                    if let id = Self.id(of: key, hash: hashes[end - start - 1], slots: slots, scalars: scalars, shift: shift) {
                        return (id, end)
                    }
                    end -= 1
                }
                return nil
            }
        }
    }

    private static func id(
        of key: UnsafeBufferPointer<Unicode.Scalar>, hash: UInt64, slots: UnsafeBufferPointer<Slot>,
        scalars: UnsafeBufferPointer<UInt32>, shift: UInt64
    ) -> Int32? {
        let (index, check) = position(of: hash, shift: shift)
        let mask = slots.count - 1
        var slot = index
        while true {
            let candidate = slots[slot]
            if candidate.length == 0 { return nil }
            if candidate.check == check, Int(candidate.length) == key.count, equal(key, scalars, from: Int(candidate.start)) {
                return candidate.id
            }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private static func position(of hash: UInt64, shift: UInt64) -> (index: Int, check: UInt32) {
        let mixed = hash &* 0x9E37_79B9_7F4A_7C15
        return (Int(truncatingIfNeeded: mixed >> shift), UInt32(truncatingIfNeeded: mixed))
    }

    @inline(__always)
    private static func equal(
        _ key: UnsafeBufferPointer<Unicode.Scalar>, _ scalars: UnsafeBufferPointer<UInt32>, from start: Int
    ) -> Bool {
        for offset in 0..<key.count where key[offset].value != scalars[start + offset] { return false }
        return true
    }
}
