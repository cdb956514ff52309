import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Ports on 127.0.0.1 for servers that tests start, all below the kernel's range of ephemeral ports. A port
/// the kernel picked, or one inside that range, is free only until some test's outgoing connection takes it
/// as its local port; a server restarted on it could not bind it, and a deployment told to use it would find
/// another process answering there.
public enum LoopbackPorts {
    /// Every port handed out in this process, reserved for good, so that two servers starting at once never
    /// pick the same one.
    private static let handedOut = Mutex<Set<Int>>([])

    /// `count` base ports, each free now with base + every one of `offsets` free too (and none handed out
    /// before). Bases are drawn from 10000 to 20000, below any base + 10000.
    public static func free(_ count: Int, with offsets: [Int] = [0]) throws -> [Int] {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let ephemeral = range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
        let reach = offsets.max() ?? 0
        let candidates = 10_000..<max(10_001, min(20_000, ephemeral - reach))
        var bases: [Int] = []
        for _ in 0..<(100 * count) where bases.count < count {
            let base = Int.random(in: candidates)
            let ports = offsets.map { base + $0 }
            let fresh = handedOut.withLock { taken in
                guard taken.isDisjoint(with: ports) else { return false }
                taken.formUnion(ports)
                return true
            }
            if fresh && ports.allSatisfy { canBind(port: $0) } { bases.append(base) }
        }
        guard bases.count == count else { throw S3TestServer.Failure("no \(count) free ports in \(candidates)") }
        return bases
    }

    /// A base port for `server.port` of a deployment on this machine: its groups listen on base + 0 to 7,
    /// its gateway on base + 100 (`server.gateway_port`).
    public static func forDeployment() throws -> Int {
        try free(1, with: Array(0..<8) + [100])[0]
    }

    /// Whether 127.0.0.1:`port` can be bound now.
    public static func canBind(port: Int) -> Bool {
        onLoopback(port: port) { bind($0, $1, $2) == 0 }
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(port: Int) -> Bool {
        onLoopback(port: port) { connect($0, $1, $2) == 0 }
    }

    /// Calls `body` with a new TCP socket and the address 127.0.0.1:`port`, then closes the socket.
    private static func onLoopback(port: Int, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Bool) -> Bool {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return false }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}
