/// A JSON value whose objects keep their keys in the order given, so written files read like the originals.
enum OrderedJSON: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])

    /// The value as text: indented by two spaces per level like `json.dumps(indent=2)`, or with no whitespace.
    func text(pretty: Bool) -> String {
        var output = ""
        write(to: &output, pretty: pretty, indent: "")
        return output
    }

    private func write(to output: inout String, pretty: Bool, indent: String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value): output += "\(value)"
        case .string(let value): Self.quote(value, to: &output)
        case .array(let elements):
            Self.writeContainer(elements, open: "[", close: "]", to: &output, pretty: pretty, indent: indent) {
                $0.write(to: &$1, pretty: pretty, indent: $2)
            }
        case .object(let members):
            Self.writeContainer(members, open: "{", close: "}", to: &output, pretty: pretty, indent: indent) {
                Self.quote($0.0, to: &$1)
                $1 += pretty ? ": " : ":"
                $0.1.write(to: &$1, pretty: pretty, indent: $2)
            }
        }
    }

    private static func writeContainer<Element>(
        _ elements: [Element], open: String, close: String, to output: inout String, pretty: Bool, indent: String,
        element: (Element, inout String, String) -> Void
    ) {
        output += open
        guard !elements.isEmpty else {
            output += close
            return
        }
        let inner = pretty ? indent + "  " : indent
        for (index, value) in elements.enumerated() {
            if index > 0 { output += "," }
            if pretty { output += "\n" + inner }
            element(value, &output, inner)
        }
        if pretty { output += "\n" + indent }
        output += close
    }

    private static func quote(_ string: String, to output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
