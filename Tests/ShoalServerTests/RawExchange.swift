import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One exchange over a plain TCP connection to the server, for what an HTTP client hides: which bytes came back and
/// whether the server closed the connection.
struct RawExchange: Sendable {
    /// Everything the server sent.
    let received: String
    /// Whether the server closed the connection before the wait ran out.
    let closedByServer: Bool

    /// Connects to 127.0.0.1:`port`, sends `request`, and reads until the server closes the connection or nothing
    /// has come for `wait`. Runs on a thread of its own, so that its blocking calls keep off the concurrency pool.
    static func run(port: Int, sending request: String, wait: Duration) async throws -> RawExchange {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try exchange(port: port, request: request, wait: wait) })
            }
        }
    }

    private static func exchange(port: Int, request: String, wait: Duration) throws -> RawExchange {
        #if canImport(Glibc)
        let socketType = Int32(SOCK_STREAM.rawValue)
        #else
        let socketType = SOCK_STREAM
        #endif
        let descriptor = socket(AF_INET, socketType, 0)
        guard descriptor >= 0 else { throw RawExchangeError.socket(errno) }
        defer { close(descriptor) }
        var timeout = timeval(
            tv_sec: time_t(wait.components.seconds), tv_usec: suseconds_t(wait.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw RawExchangeError.connect(errno) }
        let bytes = Array(request.utf8)
        guard send(descriptor, bytes, bytes.count, 0) == bytes.count else { throw RawExchangeError.send(errno) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                received += buffer.prefix(count)
            } else {
                // 0 is the server's orderly close, ECONNRESET its abrupt one; EAGAIN means the wait ran out.
                let closed = count == 0 || errno == ECONNRESET
                return RawExchange(received: String(decoding: received, as: UTF8.self), closedByServer: closed)
            }
        }
    }
}

enum RawExchangeError: Error {
    case socket(Int32)
    case connect(Int32)
    case send(Int32)
}
