/// Readers of request fields whose errors name the field and what it must be. Foundation's `JSONDecoder` reports
/// a fractional or too large number in an `Int` field, and a string it cannot read, as "not valid JSON" without
/// saying where; these catch such failures where the field is still known.
extension Decoder {
    /// This value as an integer within `range`; anything else is refused with a 400 naming the field and
    /// `requirement`, e.g. `"dimensions" must be a positive integer, not 2.5`.
    func integer(_ requirement: String, in range: ClosedRange<Int> = .min ... .max) throws -> Int {
        let container = try singleValueContainer()
        if let value = try? container.decode(Int.self), range.contains(value) {
            return value
        }
        let found = (try? container.decode(Double.self)).map { ", not \(Self.format($0))" } ?? ""
        throw APIError(.badRequest, "\(FieldName.of(codingPath)) must be \(requirement)\(found)")
    }

    /// This value as a string. A value of another type throws `DecodingError.typeMismatch`, so that callers can
    /// try other forms; a string that cannot be read throws `DecodingError.dataCorrupted` at this field, which
    /// `JSONRequest` explains from the body's bytes (invalid UTF-8, a NUL byte, a bad escape).
    func text() throws -> String {
        let container = try singleValueContainer()
        do {
            return try container.decode(String.self)
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath, debugDescription: "not valid text (an invalid escape sequence or control character)",
                underlyingError: error))
        }
    }

    /// This value as an array of strings; `refusal` makes the error for a value that is not an array, or for an
    /// element that is not a string, from the field's name.
    func texts(orElse refusal: (String) -> APIError) throws -> [String] {
        var elements: any UnkeyedDecodingContainer
        do {
            elements = try unkeyedContainer()
        } catch DecodingError.typeMismatch {
            throw refusal(FieldName.of(codingPath))
        }
        var texts: [String] = []
        while !elements.isAtEnd {
            let element = try elements.superDecoder()
            do {
                texts.append(try element.text())
            } catch DecodingError.typeMismatch {
                throw refusal(FieldName.of(element.codingPath))
            }
        }
        return texts
    }

    /// Whole numbers without a fraction or exponent, the rest as Swift writes doubles.
    private static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : "\(number)"
    }
}

extension KeyedDecodingContainer {
    /// The integer at `key` (see `Decoder.integer`), or nil when it is absent or null.
    func integerIfPresent(forKey key: Key, _ requirement: String, in range: ClosedRange<Int> = .min ... .max) throws -> Int? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try superDecoder(forKey: key).integer(requirement, in: range)
    }

    /// The array of integers at `key` (see `Decoder.integer`).
    func integers(forKey key: Key, _ requirement: String, in range: ClosedRange<Int> = .min ... .max) throws -> [Int] {
        var elements = try nestedUnkeyedContainer(forKey: key)
        var values: [Int] = []
        while !elements.isAtEnd {
            values.append(try elements.superDecoder().integer(requirement, in: range))
        }
        return values
    }

    /// The array of strings at `key` (see `Decoder.texts`).
    func texts(forKey key: Key, orElse refusal: (String) -> APIError) throws -> [String] {
        guard contains(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no \(key.stringValue)"))
        }
        return try superDecoder(forKey: key).texts(orElse: refusal)
    }
}
