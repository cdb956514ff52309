/// The `pre_tokenizer` section of a `tokenizer.json`: how normalized text is cut into words.
///
/// The supported pre-tokenizers all cut at places decided by one or two neighbouring characters, so a
/// sequence of them cuts wherever any one of them would, and the whole section reduces to three switches.
struct PreTokenizer: Sendable, Equatable {
    /// Whitespace separates words and is dropped.
    var splitsOnWhitespace = false
    /// Every punctuation character is a word of its own.
    var isolatesPunctuation = false
    /// Runs of word characters and runs of other characters are separate words (regex `\w+|[^\w\s]+`).
    var separatesWordsFromSymbols = false

    /// The ranges of the words of `text[range]`, in order.
    func words(of text: UnsafeBufferPointer<Unicode.Scalar>, in range: Range<Int>) -> Words {
        Words(rules: self, text: text, range: range)
    }

    /// The words of a text, found one at a time.
    struct Words: Sequence, IteratorProtocol {
        private let rules: PreTokenizer
        private let text: UnsafeBufferPointer<Unicode.Scalar>
        private let end: Int
        /// The next character to look at.
        private var index: Int
        /// Start of the word being read.
        private var wordStart: Int
        /// 1 for a run of word characters, 2 for other characters (with `separatesWordsFromSymbols`).
        private var runClass: UInt8 = 0

        fileprivate init(rules: PreTokenizer, text: UnsafeBufferPointer<Unicode.Scalar>, range: Range<Int>) {
            self.rules = rules
            self.text = text
            end = range.upperBound
            index = range.lowerBound
            wordStart = range.lowerBound
        }

        mutating func next() -> Range<Int>? {
            while index < end {
                let current = index
                let scalar = text[current]
                if rules.splitsOnWhitespace, CharacterClass.isWhitespace(scalar.value) {
                    let word = wordStart..<current
                    index += 1
                    wordStart = index
                    if !word.isEmpty { return word }
                } else if rules.isolatesPunctuation, CharacterClass.isPunctuation(scalar.value) {
                    if wordStart < current {
                        // Return the word before; the punctuation is read again on the next call.
                        defer { wordStart = current }
                        return wordStart..<current
                    }
                    index += 1
                    wordStart = index
                    return current..<index
                } else if rules.separatesWordsFromSymbols {
                    let currentClass: UInt8 = CharacterClass.isWordCharacter(scalar) ? 1 : 2
                    let previousClass = runClass
                    runClass = currentClass
                    index += 1
                    if wordStart < current, currentClass != previousClass {
                        defer { wordStart = current }
                        return wordStart..<current
                    }
                } else {
                    index += 1
                }
            }
            guard wordStart < end else { return nil }
            defer { wordStart = end }
            return wordStart..<end
        }
    }
}
