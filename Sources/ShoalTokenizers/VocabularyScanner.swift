import Foundation

/// Reads `model.vocab` of a `tokenizer.json` keeping every token's exact scalars.
///
/// `JSONDecoder` yields Swift strings, which compare by canonical equivalence, so a `[String: Int32]` would
/// merge tokens such as "é" and "e\u{301}" that `tokenizers` keeps apart. This scanner walks the raw JSON
/// (already checked by `JSONDecoder`) to the vocabulary and returns every entry.
struct VocabularyScanner {
    private let bytes: [UInt8]
    private var position = 0
    private static let problem = "'model.vocab' must be an object mapping each token to an integer id"

    private init(_ data: Data) {
        bytes = Array(data)
    }

    /// The entries of `model.vocab` in `data`, in file order.
    static func entries(in data: Data) throws(TokenizerError) -> [(token: String, id: Int32)] {
        var scanner = VocabularyScanner(data)
        do {
            return try scanner.vocabulary()
        } catch {
            throw .malformedJSON(reason: problem)
        }
    }

    /// A malformed or unexpected byte.
    private struct Unexpected: Error {}

    private mutating func vocabulary() throws(Unexpected) -> [(token: String, id: Int32)] {
        var entries: [(token: String, id: Int32)]?
        try forEachMember { scanner, key throws(Unexpected) in
            guard key == "model" else { return try scanner.skipValue() }
            try scanner.forEachMember { scanner, key throws(Unexpected) in
                guard key == "vocab" else { return try scanner.skipValue() }
                var found: [(token: String, id: Int32)] = []
                try scanner.forEachMember { scanner, token throws(Unexpected) in
                    found.append((token, try scanner.integer()))
                }
                entries = found
            }
        }
        guard let entries else { throw Unexpected() }
        return entries
    }

    /// Reads an object, calling `body` with each key while positioned at its value, which `body` consumes.
    private mutating func forEachMember(
        _ body: (inout VocabularyScanner, String) throws(Unexpected) -> Void
    ) throws(Unexpected) {
        try expect(UInt8(ascii: "{"))
        if try peek() == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            let key = try string()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
            switch try next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return
            default: throw Unexpected()
            }
        }
    }

    private mutating func skipValue() throws(Unexpected) {
        switch try peek() {
        case UInt8(ascii: "{"):
            try forEachMember { scanner, _ throws(Unexpected) in try scanner.skipValue() }
        case UInt8(ascii: "["):
            position += 1
            if try peek() == UInt8(ascii: "]") {
                position += 1
                return
            }
            while true {
                try skipValue()
                switch try next() {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "]"): return
                default: throw Unexpected()
                }
            }
        case UInt8(ascii: "\""):
            _ = try string()
        default:
            // A number or a literal: everything up to the next delimiter.
            while position < bytes.count, !Self.endsScalarValue(bytes[position]) { position += 1 }
        }
    }

    private static func endsScalarValue(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || isWhitespace(byte)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private mutating func integer() throws(Unexpected) -> Int32 {
        _ = try peek()
        var value: Int64 = 0
        let start = position
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            value = value * 10 + Int64(bytes[position] - UInt8(ascii: "0"))
            guard value <= Int64(Int32.max) else { throw Unexpected() }
            position += 1
        }
        guard position > start else { throw Unexpected() }
        return Int32(value)
    }

    /// A string value, with escapes resolved and the exact scalars of the file kept.
    private mutating func string() throws(Unexpected) -> String {
        try expect(UInt8(ascii: "\""))
        let start = position
        while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\") {
            position += 1
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
            position += 1
            return String(decoding: bytes[start..<position - 1], as: UTF8.self)
        }
        var utf8 = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try appendEscape(to: &utf8)
            default:
                utf8.append(byte)
            }
        }
        throw Unexpected()
    }

    private mutating func appendEscape(to utf8: inout [UInt8]) throws(Unexpected) {
        guard position < bytes.count else { throw Unexpected() }
        let byte = bytes[position]
        position += 1
        let simple: UInt8? = switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
        if let simple {
            utf8.append(simple)
            return
        }
        guard byte == UInt8(ascii: "u") else { throw Unexpected() }
        var value = UInt32(try hexQuad())
        if (0xD800..<0xDC00).contains(value), bytes[position...].starts(with: Array("\\u".utf8)) {
            position += 2
            let low = UInt32(try hexQuad())
            guard (0xDC00..<0xE000).contains(low) else { throw Unexpected() }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        utf8.append(contentsOf: String(Unicode.Scalar(value) ?? "\u{FFFD}").utf8)
    }

    private mutating func hexQuad() throws(Unexpected) -> UInt16 {
        guard position + 4 <= bytes.count,
              let value = UInt16(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
        else { throw Unexpected() }
        position += 4
        return value
    }

    /// The next byte that is not whitespace, without consuming it.
    private mutating func peek() throws(Unexpected) -> UInt8 {
        while position < bytes.count, Self.isWhitespace(bytes[position]) { position += 1 }
        guard position < bytes.count else { throw Unexpected() }
        return bytes[position]
    }

    private mutating func next() throws(Unexpected) -> UInt8 {
        let byte = try peek()
        position += 1
        return byte
    }

    private mutating func expect(_ byte: UInt8) throws(Unexpected) {
        guard try next() == byte else { throw Unexpected() }
    }
}
