import Foundation

/// A number of bytes written the way operators write them: `16GiB`, `4G`, `512MB` or a plain integer; the one
/// size syntax of `shoal.yaml` and of every command-line option that takes a size.
///
/// Binary units are powers of 1024 and may be written short: `K` = `KiB`, `M` = `MiB`, `G` = `GiB`, `T` = `TiB`
/// (as `java -Xmx4G` and `docker --memory 4g` mean them). Decimal units are powers of 1000: `KB`, `MB`, `GB`, `TB`.
public struct ByteCount: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The count.
    public var bytes: Int64

    /// `bytes` bytes.
    public init(_ bytes: Int64) { self.bytes = bytes }

    /// Every suffix and its factor; a longer suffix comes before its own last letters (`GiB` before `B`).
    static let units: [(suffix: String, factor: Int64)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
        ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40), ("B", 1),
    ]

    /// The valid spellings, for error messages.
    public static let expected = "a size such as 512MiB, 16GiB or 16G (binary), 800MB (decimal), or a number of bytes"

    /// Parses `text`, or returns nil.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in Self.units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard Self.isDecimal(number), let value = Double(number), value * Double(factor) < 9e18 else { return nil }
            self.bytes = Int64((value * Double(factor)).rounded())
            return
        }
        guard let value = Int64(trimmed), value >= 0 else { return nil }
        self.bytes = value
    }

    /// Digits with at most one decimal point: no sign, exponent, hex, `inf` or `nan`, which `Double` would take.
    private static func isDecimal(_ text: String) -> Bool {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        return !text.isEmpty && text != "." && parts.count <= 2 && parts.allSatisfy { $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int64.self), value >= 0 {
            bytes = value
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = ByteCount(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: Self.expected)
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The largest binary unit that divides the count exactly, else one decimal of GiB or MiB.
    public var description: String {
        for (suffix, factor) in [("TiB", Int64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= factor && bytes % factor == 0 {
            return "\(bytes / factor)\(suffix)"
        }
        if bytes >= 1 << 30 { return String(format: "%.1fGiB", Double(bytes) / Double(1 << 30)) }
        if bytes >= 1 << 20 { return String(format: "%.1fMiB", Double(bytes) / Double(1 << 20)) }
        return "\(bytes)B"
    }

    public static func < (lhs: ByteCount, rhs: ByteCount) -> Bool { lhs.bytes < rhs.bytes }
    public static func + (lhs: ByteCount, rhs: ByteCount) -> ByteCount { ByteCount(lhs.bytes + rhs.bytes) }
}
