import Foundation

/// The `normalizer` section of a `tokenizer.json`, flattened into steps applied in order.
struct Normalizer: Sendable, Equatable {
    /// One transformation of the text.
    enum Step: Sendable, Equatable {
        /// Drops control characters and maps every whitespace character to a space.
        case cleanup
        /// Puts a space on each side of every CJK ideograph.
        case padIdeographs
        /// A Unicode normalization form.
        case form(Form)
        /// Drops non-spacing marks (category Mn), as BERT's accent stripping does after NFD.
        case removeNonspacingMarks
        /// Drops every combining mark (categories Mn, Mc, Me), as the StripAccents normalizer does.
        case removeCombiningMarks
        /// Lowercases character by character, with the full (possibly multi-character) mapping.
        case lowercase
        /// Trims whitespace from either end.
        case strip(leading: Bool, trailing: Bool)

        /// Whether the step looks beyond one character, so that it cannot be applied character by character.
        var isContextual: Bool {
            if case .strip = self { true } else { false }
        }
    }

    /// A Unicode normalization form.
    enum Form: Sendable, Equatable {
        case nfd, nfc, nfkd, nfkc

        /// Below this code point every character is unchanged by the form, so the conversion can be skipped.
        fileprivate var firstAffected: UInt32 {
            switch self {
            case .nfd, .nfc: 0xC0
            case .nfkd, .nfkc: 0xA0
            }
        }
    }

    /// The steps, in order; empty when the file has no normalizer.
    let steps: [Step]

    /// What the steps turn each ASCII character into (`dropped` when they remove it), so that all-ASCII text,
    /// nearly all text on the hot path, takes one pass; nil when some step does not work character by character.
    private let asciiMap: [UInt8]?
    private static let dropped: UInt8 = 0xFF

    /// A normalizer applying `steps` in order.
    init(steps: [Step]) {
        self.steps = steps
        asciiMap = Self.asciiMap(for: steps)
    }

    /// Applies every step to `text`.
    func normalize(_ text: inout [Unicode.Scalar]) {
        if let asciiMap, text.allSatisfy({ $0.value < 0x80 }) {
            var kept = 0
            for index in text.indices {
                let mapped = asciiMap[Int(text[index].value)]
                if mapped == Self.dropped { continue }
                text[kept] = Unicode.Scalar(mapped)
                kept += 1
            }
            text.removeLast(text.count - kept)
            return
        }
        Self.apply(steps, to: &text)
    }

    private static func asciiMap(for steps: [Step]) -> [UInt8]? {
        guard !steps.contains(where: \.isContextual) else { return nil }
        var map: [UInt8] = []
        for value in UInt8(0)..<0x80 {
            var text = [Unicode.Scalar(value)]
            apply(steps, to: &text)
            switch text.count {
            case 0: map.append(dropped)
            case 1 where text[0].value < 0x80: map.append(UInt8(text[0].value))
            default: return nil
            }
        }
        return map
    }

    private static func apply(_ steps: [Step], to text: inout [Unicode.Scalar]) {
        for step in steps {
            switch step {
            case .cleanup: cleanup(&text)
            case .padIdeographs: padIdeographs(&text)
            case .form(.nfd): CanonicalDecomposition.decompose(&text)
            case let .form(form): convert(&text, to: form)
            case .removeNonspacingMarks: text.removeAll { CharacterClass.isNonspacingMark($0.value) }
            case .removeCombiningMarks: text.removeAll { CharacterClass.isCombiningMark($0.value) }
            case .lowercase: lowercase(&text)
            case let .strip(leading, trailing): strip(&text, leading: leading, trailing: trailing)
            }
        }
    }

    private static func cleanup(_ text: inout [Unicode.Scalar]) {
        var kept = 0
        for index in text.indices {
            let scalar = text[index]
            if CharacterClass.isRemovedByCleanup(scalar.value) { continue }
            text[kept] = CharacterClass.isWhitespace(scalar.value) ? " " : scalar
            kept += 1
        }
        text.removeLast(text.count - kept)
    }

    private static func padIdeographs(_ text: inout [Unicode.Scalar]) {
        guard text.contains(where: { CharacterClass.isChineseIdeograph($0.value) }) else { return }
        var padded: [Unicode.Scalar] = []
        padded.reserveCapacity(text.count + 16)
        for scalar in text {
            if CharacterClass.isChineseIdeograph(scalar.value) {
                padded.append(" ")
                padded.append(scalar)
                padded.append(" ")
            } else {
                padded.append(scalar)
            }
        }
        text = padded
    }

    /// Converts with the platform's Unicode data (NFD has its own table, being on BERT's hot path).
    ///
    /// `tokenizers` normalizes with Unicode 9.0 data, where a newer character is unassigned: it neither
    /// decomposes nor reorders with its neighbours, so the runs between such characters convert separately.
    private static func convert(_ text: inout [Unicode.Scalar], to form: Form) {
        let threshold = form.firstAffected
        guard text.contains(where: { $0.value >= threshold }) else { return }
        var converted: [Unicode.Scalar] = []
        converted.reserveCapacity(text.count + 8)
        var runStart = 0
        for index in text.indices where text[index].value >= threshold && isNewerThanUnicode9(text[index]) {
            append(text[runStart..<index], convertedTo: form, to: &converted)
            converted.append(text[index])
            runStart = index + 1
        }
        append(text[runStart...], convertedTo: form, to: &converted)
        text = converted
    }

    private static func isNewerThanUnicode9(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major > 9 || age.major == 9 && age.minor > 0
    }

    private static func append(
        _ run: ArraySlice<Unicode.Scalar>, convertedTo form: Form, to converted: inout [Unicode.Scalar]
    ) {
        guard !run.isEmpty else { return }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: run)
        let string = String(view)
        let result = switch form {
        case .nfd: string.decomposedStringWithCanonicalMapping
        case .nfc: string.precomposedStringWithCanonicalMapping
        case .nfkd: string.decomposedStringWithCompatibilityMapping
        case .nfkc: string.precomposedStringWithCompatibilityMapping
        }
        converted.append(contentsOf: result.unicodeScalars)
    }

    private static func lowercase(_ text: inout [Unicode.Scalar]) {
        guard let first = text.firstIndex(where: { $0.value >= 0x80 && $0.properties.changesWhenLowercased })
        else {
            for index in text.indices where (0x41...0x5A).contains(text[index].value) {
                text[index] = Unicode.Scalar(UInt8(text[index].value) | 0x20)
            }
            return
        }
        var lowered = Array(text[..<first])
        lowered.reserveCapacity(text.count + 8)
        for index in lowered.indices where (0x41...0x5A).contains(lowered[index].value) {
            lowered[index] = Unicode.Scalar(UInt8(lowered[index].value) | 0x20)
        }
        for scalar in text[first...] {
            if scalar.value < 0x80 {
                let value = UInt8(scalar.value)
                lowered.append(Unicode.Scalar((0x41...0x5A).contains(value) ? value | 0x20 : value))
            } else if scalar.properties.changesWhenLowercased {
                lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                lowered.append(scalar)
            }
        }
        text = lowered
    }

    private static func strip(_ text: inout [Unicode.Scalar], leading: Bool, trailing: Bool) {
        let isText = { (scalar: Unicode.Scalar) in !CharacterClass.isWhitespace(scalar.value) }
        guard let first = text.firstIndex(where: isText), let last = text.lastIndex(where: isText) else {
            if leading || trailing { text.removeAll() }
            return
        }
        text = Array(text[(leading ? first : 0)..<(trailing ? last + 1 : text.count)])
    }
}
