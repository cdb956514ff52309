/// Finds a `tokenizer.json`'s added tokens (such as `[CLS]` or `[MASK]`) in text, as `tokenizers` does:
/// leftmost-longest matches, honouring each token's `single_word`, `lstrip` and `rstrip` options.
struct AddedTokenMatcher: Sendable {
    /// One added token, as matched.
    struct Token: Sendable, Equatable {
        var content: [Unicode.Scalar]
        var id: Int32
        var singleWord = false
        var leftStrip = false
        var rightStrip = false
    }

    /// A piece of the text: plain text for the model, or an added token already resolved to its id.
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Tokens longest first, so the first one that matches at a position is the longest.
    fileprivate let tokens: [Token]
    /// Bit `c` is set when an ASCII token starts with `c`, so most positions are ruled out at once.
    private let asciiStarts: (low: UInt64, high: UInt64)
    /// First scalars of tokens that start outside ASCII.
    private let otherStarts: Set<UInt32>

    /// A matcher for `tokens`; empty tokens are left out.
    init(_ tokens: [Token]) {
        self.tokens = tokens.filter { !$0.content.isEmpty }.sorted { $0.content.count > $1.content.count }
        var low: UInt64 = 0
        var high: UInt64 = 0
        var other = Set<UInt32>()
        for token in self.tokens {
            let first = token.content[0].value
            switch first {
            case 0..<64: low |= 1 << UInt64(first)
            case 64..<128: high |= 1 << UInt64(first - 64)
            default: other.insert(first)
            }
        }
        asciiStarts = (low, high)
        otherStarts = other
    }

    /// The segments of `text[range]` in order; without added tokens, the whole range is one text segment.
    func segments(of text: UnsafeBufferPointer<Unicode.Scalar>, in range: Range<Int>) -> Segments {
        Segments(matcher: self, text: text, range: range)
    }

    /// The segments of a text, found one at a time.
    struct Segments: Sequence, IteratorProtocol {
        fileprivate let matcher: AddedTokenMatcher
        fileprivate let text: UnsafeBufferPointer<Unicode.Scalar>
        fileprivate let begin: Int
        fileprivate let end: Int
        /// Start of the text not yet returned.
        fileprivate var offset: Int
        /// Where to look for the next match.
        private var index = 0
        /// A token found after a text segment, returned on the next call.
        private var pendingToken: Int32?

        fileprivate init(matcher: AddedTokenMatcher, text: UnsafeBufferPointer<Unicode.Scalar>, range: Range<Int>) {
            self.matcher = matcher
            self.text = text
            begin = range.lowerBound
            end = range.upperBound
            offset = range.lowerBound
            index = matcher.tokens.isEmpty ? range.upperBound : range.lowerBound
        }

        mutating func next() -> Segment? {
            if let id = pendingToken {
                pendingToken = nil
                return .token(id)
            }
            if let (start, stop, id) = nextMatch() {
                let before = offset..<start
                offset = stop
                guard before.isEmpty else {
                    pendingToken = id
                    return .text(before)
                }
                return .token(id)
            }
            guard offset < end else { return nil }
            defer { offset = end }
            return .text(offset..<end)
        }

        /// The next accepted match, with `lstrip`/`rstrip` whitespace included in its bounds.
        private mutating func nextMatch() -> (start: Int, stop: Int, id: Int32)? {
            while index < end {
                guard matcher.mayStart(text[index].value), let token = matcher.longestMatch(in: text, at: index, before: end)
                else {
                    index += 1
                    continue
                }
                var start = index
                var stop = index + token.content.count
                // Like the library's matcher, a rejected match still consumes its characters.
                index = stop
                if token.singleWord, isWordCharacter(at: start - 1) || isWordCharacter(at: stop) { continue }
                if token.leftStrip {
                    while start > offset, CharacterClass.isWhitespace(text[start - 1].value) { start -= 1 }
                }
                if token.rightStrip {
                    while stop < end, CharacterClass.isWhitespace(text[stop].value) { stop += 1 }
                    index = stop
                }
                return (start, stop, token.id)
            }
            return nil
        }

        /// Whether `position` is inside the segment being split and holds a word character.
        private func isWordCharacter(at position: Int) -> Bool {
            position >= begin && position < end && CharacterClass.isWordCharacter(text[position])
        }
    }

    @inline(__always)
    fileprivate func mayStart(_ value: UInt32) -> Bool {
        switch value {
        case 0..<64: asciiStarts.low & (1 << UInt64(value)) != 0
        case 64..<128: asciiStarts.high & (1 << UInt64(value - 64)) != 0
        default: !otherStarts.isEmpty && otherStarts.contains(value)
        }
    }

    fileprivate func longestMatch(in text: UnsafeBufferPointer<Unicode.Scalar>, at index: Int, before end: Int) -> Token? {
        tokens.first { token in
            token.content.count <= end - index
                && token.content.indices.allSatisfy { token.content[$0] == text[index + $0] }
        }
    }
}
