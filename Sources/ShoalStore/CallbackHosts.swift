import Foundation

/// The hosts an asynchronous request's `Shoal-Callback-URL` may name: the server POSTs there, so without a
/// list any client could make it call any address it reaches (its own network, a cloud's metadata service).
/// Each entry is a host name (`hooks.example.com`), every name under a domain (`*.example.com`), or an
/// address (`10.0.0.7`, `[::1]`), each optionally with `:PORT`. An empty list allows no callback.
public struct CallbackHosts: Sendable, Equatable, CustomStringConvertible {
    struct Entry: Sendable, Equatable {
        /// Lower case, without brackets; for `*.example.com`, `.example.com`.
        var host: String
        var port: Int?

        func matches(host candidate: String, port candidatePort: Int) -> Bool {
            if let port, port != candidatePort { return false }
            return host.hasPrefix(".") ? candidate.hasSuffix(host) : candidate == host
        }
    }

    let entries: [Entry]
    /// The list as given, for messages.
    public let description: String

    /// The hosts of `list`, separated by commas; throws naming an entry that is not a host[:port].
    public init(_ list: String) throws {
        var entries: [Entry] = []
        for raw in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !raw.isEmpty {
            guard let components = URLComponents(string: "http://\(raw.hasPrefix("*.") ? "wildcard" + raw.dropFirst() : raw)"),
                  let host = components.host, !host.isEmpty, components.path.isEmpty, components.user == nil,
                  components.query == nil, components.fragment == nil, host.allSatisfy({ $0 != "*" }) else {
                throw CallbackHostsError(entry: raw)
            }
            let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            entries.append(Entry(host: raw.hasPrefix("*.") ? String(name.dropFirst("wildcard".count)) : name, port: components.port))
        }
        self.entries = entries
        description = entries.isEmpty ? "none" : list
    }

    /// Whether a callback to `url` is allowed: http or https, to a listed host (and port, where one is listed).
    public func allows(_ url: URL) -> Bool {
        guard let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host?.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]")) else { return false }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return entries.contains { $0.matches(host: host, port: port) }
    }

    /// Whether no callback is allowed at all.
    public var isEmpty: Bool { entries.isEmpty }
}

/// An entry of `--async-callback-hosts` that is not a host[:port].
public struct CallbackHostsError: Error, CustomStringConvertible {
    public var entry: String
    public var description: String {
        "'\(entry)' is not a host, *.domain or address with an optional :port"
    }
}
