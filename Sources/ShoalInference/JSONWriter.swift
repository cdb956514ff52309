/// Writes JSON straight into bytes. Inference results carry hundreds of floats per input, which `JSONEncoder`
/// and `JSONSerialization` format several times slower; the server's responses and the batch transform's lines
/// are written with it, everything else with `Encodable`.
public struct JSONWriter {
    /// What has been written. Public, with the methods inlinable, so that writing a float in another module is
    /// not a call through a generic witness table.
    public var bytes: [UInt8] = []

    @inlinable public init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends JSON text as is: punctuation and keys known to need no escaping.
    @inlinable public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends `text`, which is JSON already (a value written elsewhere), as is.
    @inlinable public mutating func json(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends a quoted, escaped string.
    @inlinable public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    @inlinable public mutating func int(_ value: Int) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Appends the shortest decimal that reads back as `value`; `null` for NaN and infinities, which JSON lacks.
    @inlinable public mutating func float(_ value: Float) {
        guard value.isFinite else { return raw("null") }
        bytes.append(contentsOf: value.description.utf8)
    }

    @inlinable public mutating func array<C: Collection>(_ values: C, _ element: (inout JSONWriter, C.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for value in values {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    @inlinable public mutating func floats<C: Collection<Float>>(_ values: C) {
        array(values) { $0.float($1) }
    }
}
