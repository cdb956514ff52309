/// Canonical decomposition (NFD) with the Unicode 9.0 data that `tokenizers` uses.
///
/// The table in `CanonicalDecomposition+Table.swift` is generated from the library; combining classes come
/// from the standard library, which is exact for characters of Unicode 9.0 because classes never change
/// once assigned; newer characters count as unassigned starters, as they do in `tokenizers`.
enum CanonicalDecomposition {
    /// The code points that decompose, in order, and where each one's decomposition starts in `table`.
    private static let index: (codePoints: [UInt32], starts: [Int]) = {
        var codePoints: [UInt32] = []
        var starts: [Int] = []
        var position = 0
        while position + 1 < table.count {
            codePoints.append(table[position])
            starts.append(position + 2)
            position += 2 + Int(table[position + 1])
        }
        return (codePoints, starts)
    }()

    /// Replaces `text` with its canonical decomposition.
    static func decompose(_ text: inout [Unicode.Scalar]) {
        guard let first = text.firstIndex(where: { $0.value >= 0xC0 }) else { return }
        var decomposed = Array(text[..<first])
        decomposed.reserveCapacity(text.count + 8)
        var needsReordering = false
        for scalar in text[first...] {
            let start = decomposed.count
            append(decompositionOf: scalar, to: &decomposed)
            if !needsReordering {
                needsReordering = decomposed[start...].contains { combiningClass(of: $0) != 0 }
            }
        }
        if needsReordering { reorder(&decomposed) }
        text = decomposed
    }

    private static func append(decompositionOf scalar: Unicode.Scalar, to text: inout [Unicode.Scalar]) {
        let value = scalar.value
        if value < 0xC0 {
            text.append(scalar)
        } else if (0xAC00...0xD7A3).contains(value) {
            appendHangul(value - 0xAC00, to: &text)
        } else if let position = position(of: value) {
            let start = index.starts[position]
            for offset in 0..<Int(table[start - 1]) { text.append(valid(table[start + offset])) }
        } else {
            text.append(scalar)
        }
    }

    /// Hangul syllables decompose arithmetically into two or three jamo (Unicode §3.12).
    private static func appendHangul(_ syllable: UInt32, to text: inout [Unicode.Scalar]) {
        let leading = 0x1100 + syllable / 588
        let vowel = 0x1161 + (syllable % 588) / 28
        let trailing = 0x11A7 + syllable % 28
        text.append(valid(leading))
        text.append(valid(vowel))
        if trailing != 0x11A7 { text.append(valid(trailing)) }
    }

    /// The scalar of a value known to be one (from the table or the Hangul arithmetic).
    @inline(__always)
    private static func valid(_ value: UInt32) -> Unicode.Scalar {
        Unicode.Scalar(value) ?? "\u{FFFD}"
    }

    private static func position(of value: UInt32) -> Int? {
        let codePoints = index.codePoints
        var low = 0
        var high = codePoints.count
        while low < high {
            let middle = (low + high) / 2
            if codePoints[middle] < value {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < codePoints.count && codePoints[low] == value ? low : nil
    }

    /// Sorts each run of non-starters by combining class, keeping equal classes in order (canonical ordering).
    private static func reorder(_ text: inout [Unicode.Scalar]) {
        var index = 1
        while index < text.count {
            let scalar = text[index]
            let rank = combiningClass(of: scalar)
            var position = index
            while rank != 0, position > 0, combiningClass(of: text[position - 1]) > rank {
                text[position] = text[position - 1]
                position -= 1
            }
            text[position] = scalar
            index += 1
        }
    }

    private static func combiningClass(of scalar: Unicode.Scalar) -> UInt8 {
        guard scalar.value >= 0x300 else { return 0 }
        let properties = scalar.properties
        let rank = properties.canonicalCombiningClass.rawValue
        guard rank != 0, let age = properties.age, age.major < 9 || age.major == 9 && age.minor == 0 else { return 0 }
        return rank
    }
}
