/// A model in the store: a name and a version, or `latest` for the highest version.
public struct ModelReference: Sendable, Hashable, CustomStringConvertible {
    /// The model's name.
    public var name: String
    /// A version number, or `nil` for the latest.
    public var version: String?

    /// A reference to `name` at `version` (`nil`: the latest); throws when either is malformed.
    public init(name: String, version: String? = nil) throws(StoreError) {
        guard Self.isValidName(name) else {
            throw .invalidReference(name, reason: Self.nameRule)
        }
        if let version, !Self.isValidVersion(version) {
            throw .invalidReference("\(name)@\(version)", reason: "a version is a positive whole number")
        }
        self.name = name
        self.version = version
    }

    /// Parses `NAME`, `NAME@VERSION` or `NAME@latest`.
    public init(parsing text: String) throws(StoreError) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let version = parts.count == 2 && parts[1] != "latest" ? parts[1] : nil
        if parts.count == 2, parts[1].isEmpty {
            throw .invalidReference(text, reason: "the version after '@' is empty")
        }
        try self.init(name: parts[0], version: version)
    }

    public var description: String { "\(name)@\(version ?? "latest")" }

    /// The one rule for model names, in words: the store, `shoal.yaml`, `shoal serve` and the engine all apply it.
    public static let nameRule = "a model name is 1 to 200 bytes of ASCII letters, digits, '.', '_' or '-', "
        + "not starting with '.' or '-'"

    /// Whether `name` can name a model, everywhere a model is named (see `nameRule`).
    ///
    /// A name is a folder of the store and a path component of URLs, so '.' may not start it (no `..`, no
    /// hidden folders); it is passed as a command-line value (`shoal serve --pin NAME`), so '-' may not either.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 200, name.first != ".", name.first != "-" else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || "._-".unicodeScalars.contains(scalar)
        }
    }

    /// Whether `version` is a version number: digits without a leading zero, at most 9 of them.
    public static func isValidVersion(_ version: String) -> Bool {
        guard let number = Int(version), number >= 1, version.count <= 9 else { return false }
        return String(number) == version
    }

    /// Version strings in increasing numeric order, malformed ones dropped.
    static func sorted(_ versions: [String]) -> [String] {
        versions.filter(isValidVersion).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
    }
}
