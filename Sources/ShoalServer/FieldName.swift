/// How error messages name a field of a request body: `"inputs[0].shape"`, or the body itself at the top level.
enum FieldName {
    /// The field at `path`, quoted, with array elements as `[index]`.
    static func of(_ path: [any CodingKey]) -> String {
        guard !path.isEmpty else { return "the request body" }
        let name = path.reduce("") { name, key in
            if let index = key.intValue { return "\(name)[\(index)]" }
            return name.isEmpty ? key.stringValue : "\(name).\(key.stringValue)"
        }
        return "\"\(name)\""
    }
}
