import Foundation
import ShoalStore
import Yams

/// The YAML tree of a configuration: parsed as written, checked key by key against the schema, merged onto the
/// defaults, edited by `set` and environment variables, then decoded. Working on the tree keeps a user's file
/// as they wrote it and lets every error name the key.
enum ConfigurationTree {
    /// Parses `text`; an empty document is an empty mapping.
    static func parse(_ text: String, path: String) throws -> Node {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ControlError.configurationSyntax(path: path, reason: "\(error)")
        }
        guard let node else { return Node([(Node, Node)]()) }
        guard case .mapping = node else {
            throw ControlError.configurationSyntax(path: path, reason: "the top level must be a mapping of keys such as store, models, targets")
        }
        return node
    }

    /// The defaults as a tree.
    static func encode(_ configuration: ShoalConfiguration) throws -> Node {
        let text = try YAMLEncoder().encode(configuration)
        return try parse(text, path: "defaults")
    }

    /// Every key the configuration knows: the defaults with each optional field filled in.
    static func schema() throws -> Node {
        var example = ShoalConfiguration()
        example.models[0].base = "base"
        example.models[0].throughput = 1
        example.models[0].serverless = .init()
        // A free mapping (`ConfigurationSchema.freeMappings`) has one schema key, `*`, standing for any name.
        example.kubernetes.serviceAccountAnnotations = ["*": "value"]
        return try encode(example)
    }

    /// Throws on a key that `schema` does not have, or one that appears twice in a mapping.
    static func checkKeys(_ node: Node, against schema: Node, prefix: String = "") throws {
        switch (node, schema) {
        case (.mapping(let mapping), .mapping(let known)):
            var seen = Set<String>()
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? "\(keyNode)"
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                guard seen.insert(key).inserted else {
                    throw ControlError.configurationSyntax(path: path, reason: "the key '\(key)' appears twice")
                }
                guard let knownValue = known[key] ?? known["*"] else {
                    throw ControlError.unknownKey(key: path, valid: known.keys.compactMap(\.string))
                }
                try checkKeys(value, against: knownValue, prefix: path)
            }
        case (.sequence(let sequence), .sequence(let known)):
            guard let entry = known.first else { return }
            for (index, element) in sequence.enumerated() {
                try checkKeys(element, against: entry, prefix: "\(prefix).\(element["name"]?.string ?? String(index))")
            }
        case (.scalar, .mapping), (.sequence, .mapping):
            throw ControlError.invalidValue(key: prefix, value: "\(node.any)", expected: "a mapping of the keys: "
                + (schema.mapping?.keys.compactMap(\.string).joined(separator: ", ") ?? ""))
        case (.scalar, .sequence), (.mapping, .sequence):
            throw ControlError.invalidValue(key: prefix, value: "\(node.any)", expected: "a list of entries")
        default:
            return
        }
    }

    /// `user` laid over `defaults`: mappings merge key by key; a list replaces the default list, each entry
    /// laid over `entryDefaults` of its key.
    static func merge(_ user: Node, onto defaults: Node, entryDefaults: [String: Node] = [:], key: String = "") -> Node {
        switch (user, defaults) {
        case (.mapping(let mapping), .mapping(let base)):
            var pairs = Array(base).map { ($0.key, $0.value) }
            for (keyNode, value) in mapping {
                let name = keyNode.string ?? ""
                if let index = pairs.firstIndex(where: { $0.0 == keyNode }) {
                    pairs[index].1 = merge(value, onto: pairs[index].1, entryDefaults: entryDefaults, key: name)
                } else {
                    pairs.append((keyNode, value))
                }
            }
            return Node(pairs)
        case (.sequence(let sequence), _):
            guard let entry = entryDefaults[key] else { return user }
            return Node(sequence.map { merge($0, onto: entry) })
        default:
            return user
        }
    }

    /// `node` with the scalar at `key` (dot-separated; list entries by name or index) set to `value`. A list
    /// entry named in `key` that does not exist yet is appended with that name.
    static func setting(_ key: String, to value: String, in node: Node) throws -> Node {
        try setting(key, to: Node(value), in: node)
    }

    /// `node` with the value at `key` replaced by the tree `value` (a whole free mapping).
    static func setting(_ key: String, to value: Node, in node: Node) throws -> Node {
        try setting(key.split(separator: ".").map(String.init), fullKey: key, to: value, in: node)
    }

    private static func setting(_ parts: [String], fullKey: String, to value: Node, in node: Node) throws -> Node {
        guard let head = parts.first else { return value }
        let rest = Array(parts.dropFirst())
        switch node {
        case .sequence(let sequence):
            var elements = Array(sequence)
            if let match = entry(of: elements, parts: parts) {
                elements[match.index] = try setting(match.rest, fullKey: fullKey, to: value, in: elements[match.index])
            } else {
                let isTarget = fullKey.hasPrefix("targets.")
                // A new entry's name runs up to the first key an entry has: `targets.g6.xlarge.cpus` names g6.xlarge.
                let fields = try schema()[isTarget ? "targets" : "models"]?.sequence?.first?.mapping?.keys.compactMap(\.string) ?? []
                let length = parts.indices.dropFirst().first { fields.contains(parts[$0]) } ?? 1
                let name = parts[..<length].joined(separator: ".")
                guard isTarget ? ConfigurationSchema.isValidTargetName(name) : ModelReference.isValidName(name) else {
                    throw ControlError.invalidValue(
                        key: fullKey, value: name, expected: isTarget ? ConfigurationSchema.targetNameRule : ModelReference.nameRule)
                }
                elements.append(try setting(Array(parts[length...]), fullKey: fullKey, to: value, in: Node([(Node("name"), Node(name))])))
            }
            return Node(elements)
        case .mapping(let mapping):
            var pairs = Array(mapping).map { ($0.key, $0.value) }
            if let index = pairs.firstIndex(where: { $0.0.string == head }) {
                pairs[index].1 = try setting(rest, fullKey: fullKey, to: value, in: pairs[index].1)
            } else {
                var empty = rest.isEmpty ? Node("") : (Int(rest[0]) == nil && isList(head) ? Node([Node]()) : Node([(Node, Node)]()))
                // A file without targets has the default ones: a setting edits or adds to them, not replaces them.
                if head == "targets", let defaults = try encode(ShoalConfiguration())["targets"] { empty = defaults }
                pairs.append((Node(head), try setting(rest, fullKey: fullKey, to: value, in: empty)))
            }
            return Node(pairs)
        default:
            throw ControlError.invalidValue(key: fullKey, value: "\(value.any)", expected: "a key inside a mapping; '\(head)' is below a plain value")
        }
    }

    /// The entry of a list that `parts` start with, and the parts after it: by name, the longest that matches
    /// (names may hold dots, as `c7i.xlarge` does), else by index; nil when no entry matches.
    static func entry(of elements: [Node], parts: [String]) -> (index: Int, rest: [String])? {
        for length in stride(from: parts.count, through: 1, by: -1) {
            let name = parts[..<length].joined(separator: ".")
            if let index = elements.firstIndex(where: { $0["name"]?.string == name }) { return (index, Array(parts[length...])) }
        }
        guard let head = parts.first, let index = Int(head), elements.indices.contains(index) else { return nil }
        return (index, Array(parts.dropFirst()))
    }

    /// `text` with the plain scalar at `key` replaced where it is written, keeping comments and layout; nil
    /// when the key is absent or not a one-line plain scalar, so the caller re-emits the whole tree instead.
    static func editedInPlace(_ text: String, key: String, to value: String, tree: Node) -> String? {
        var node: Node? = tree
        var parts = key.split(separator: ".").map(String.init)
        while let part = parts.first {
            switch node {
            case .sequence(let sequence)?:
                guard let match = entry(of: Array(sequence), parts: parts) else { return nil }
                node = sequence[match.index]
                parts = match.rest
            case .mapping?:
                node = node?[part]
                parts.removeFirst()
            default:
                return nil
            }
        }
        guard case .scalar(let scalar)? = node, scalar.style == .plain, let mark = scalar.mark,
              !scalar.string.isEmpty, !scalar.string.contains("\n") else { return nil }
        var lines = text.components(separatedBy: "\n")
        guard lines.indices.contains(mark.line - 1) else { return nil }
        let line = Array(lines[mark.line - 1])
        let start = mark.column - 1
        let end = start + scalar.string.count
        guard start >= 0, end <= line.count, String(line[start..<end]) == scalar.string else { return nil }
        lines[mark.line - 1] = String(line[..<start]) + plainOrQuoted(value) + String(line[end...])
        return lines.joined(separator: "\n")
    }

    /// `value` as a YAML scalar: plain when that reads back as the same string, else double-quoted.
    static func plainOrQuoted(_ value: String) -> String {
        let special = Set(":#'\"{}[],&*!|>%@`\\")
        if !value.isEmpty, value.first != " ", value.last != " ", !value.contains(where: { special.contains($0) }) {
            return value
        }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func isList(_ key: String) -> Bool { key == "models" || key == "targets" }

    /// Decodes the tree; a type error names its key and the values it accepts.
    static func decode(_ node: Node) throws -> ShoalConfiguration {
        do {
            return try YAMLDecoder().decode(ShoalConfiguration.self, from: node)
        } catch let error as DecodingError {
            throw controlError(error, in: node)
        }
    }

    private static func controlError(_ error: DecodingError, in node: Node) -> ControlError {
        let path: [any CodingKey]
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        case .keyNotFound(let missing, let context):
            path = context.codingPath + [missing]
        @unknown default:
            path = []
        }
        var current: Node? = node
        var names: [String] = []
        for codingKey in path {
            if let index = codingKey.intValue {
                current = current?.sequence.flatMap { index < $0.count ? $0[index] : nil }
                names.append(current?["name"]?.string ?? String(index))
            } else {
                current = current?[codingKey.stringValue]
                names.append(codingKey.stringValue)
            }
        }
        let key = names.joined(separator: ".")
        let value = current.map { "\($0.any)" } ?? "(missing)"
        return .invalidValue(key: key, value: value, expected: ConfigurationSchema.expected(for: key))
    }
}
