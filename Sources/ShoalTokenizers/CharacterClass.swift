/// The character classes that Hugging Face `tokenizers` uses for BERT-style text, by code point.
///
/// The control, mark and punctuation tables live in `CharacterClass+Tables.swift`, generated from the
/// library's behaviour (it uses Unicode 8.0 and 9.0 data); ASCII is answered without a table.
enum CharacterClass {
    /// Whether `value` has the Unicode White_Space property (Rust's `char::is_whitespace`, regex `\s`).
    static func isWhitespace(_ value: UInt32) -> Bool {
        switch value {
        case 0x09...0x0D, 0x20: true
        case 0..<0x85: false
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Whether BERT's text cleanup drops `value`: NUL, U+FFFD and control/format/private-use characters
    /// other than tab, line feed and carriage return.
    static func isRemovedByCleanup(_ value: UInt32) -> Bool {
        if value < 0x80 {
            return value < 0x20 ? !(value == 0x09 || value == 0x0A || value == 0x0D) : value == 0x7F
        }
        return contains(removedByCleanup, value)
    }

    /// Whether `value` is a non-spacing mark (category Mn), which accent stripping removes.
    static func isNonspacingMark(_ value: UInt32) -> Bool {
        value >= 0x300 && contains(nonspacingMarks, value)
    }

    /// Whether `value` is a combining mark (categories Mn, Mc, Me), which the StripAccents normalizer removes.
    static func isCombiningMark(_ value: UInt32) -> Bool {
        value >= 0x300 && contains(combiningMarks, value)
    }

    /// Whether the BERT pre-tokenizer makes `value` a token of its own.
    static func isPunctuation(_ value: UInt32) -> Bool {
        switch value {
        case 33...47, 58...64, 91...96, 123...126: true
        case 0..<0x80: false
        default: contains(punctuation, value)
        }
    }

    /// Whether BERT puts spaces around `value`: the CJK ideograph blocks exactly as `tokenizers` lists them.
    static func isChineseIdeograph(_ value: UInt32) -> Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            true
        default:
            false
        }
    }

    /// Whether `scalar` is a regex word character (`\w`): alphabetic, a mark, a decimal digit, a connector
    /// punctuation or a join control.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 {
            return (0x30...0x39).contains(value) || (0x41...0x5A).contains(value)
                || (0x61...0x7A).contains(value) || value == 0x5F
        }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            return true
        default:
            return properties.isAlphabetic || properties.isJoinControl
        }
    }

    /// Binary search of sorted, disjoint ranges.
    private static func contains(_ table: [ClosedRange<UInt32>], _ value: UInt32) -> Bool {
        var low = 0
        var high = table.count
        while low < high {
            let middle = (low + high) / 2
            let range = table[middle]
            if value < range.lowerBound {
                high = middle
            } else if value > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }
}
