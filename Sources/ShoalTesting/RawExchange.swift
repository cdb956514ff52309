import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One exchange over a plain TCP connection to the server, for what an HTTP client hides: which bytes came back and
/// whether the server closed the connection.
public struct RawExchange: Sendable {
    /// Everything the server sent.
    public let received: String
    /// Whether the server closed the connection before the wait ran out.
    public let closedByServer: Bool

    /// Connects to 127.0.0.1:`port`, sends `request`, and reads until the server closes the connection or nothing
    /// has come for `wait`. Runs on a thread of its own, so that its blocking calls keep off the concurrency pool.
    public static func run(port: Int, sending request: String, wait: Duration) async throws -> RawExchange {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let connection = try LoopbackConnection(port: port, timeout: wait)
                    try connection.send(request)
                    return connection.receiveAll()
                })
            }
        }
    }

    /// Sends `request` `times` times over one keep-alive connection to 127.0.0.1:`port`, reading each answer until
    /// it holds `marker` (its last bytes), each read waiting at most `timeout`; returns the answers. An answer
    /// without `marker` was cut short: the server closed the connection, or said nothing for `timeout`.
    public static func repeated(port: Int, sending request: String, until marker: String, times: Int,
                                timeout: Duration) async throws -> [String] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let connection = try LoopbackConnection(port: port, timeout: timeout)
                    return try (0..<times).map { _ in
                        try connection.send(request)
                        return connection.receive(until: marker)
                    }
                })
            }
        }
    }
}

/// A TCP connection to 127.0.0.1 made with blocking socket calls, each waiting at most `timeout`; closed when
/// released.
public final class LoopbackConnection: Sendable {
    private let descriptor: Int32
    private let closed = Mutex(false)

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int, timeout: Duration) throws {
        #if canImport(Glibc)
        let socketType = Int32(SOCK_STREAM.rawValue)
        #else
        let socketType = SOCK_STREAM
        #endif
        descriptor = socket(AF_INET, socketType, 0)
        guard descriptor >= 0 else { throw RawExchangeError.socket(errno) }
        var limit = timeval(
            tv_sec: time_t(timeout.components.seconds),
            tv_usec: suseconds_t(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let error = errno
            closeDescriptor(descriptor)
            throw RawExchangeError.connect(error)
        }
    }

    deinit { close() }

    /// Closes the connection now (idempotent).
    public func close() {
        closed.withLock { closed in
            guard !closed else { return }
            closed = true
            closeDescriptor(descriptor)
        }
    }

    /// Sends `text` whole.
    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Foundation.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw RawExchangeError.send(errno)
        }
    }

    /// `receive(until:)` on a thread of its own: a blocking read on the concurrency pool can hold the very thread
    /// a server in the same process needs to answer it, when parallel tests block the others.
    public func answer(until marker: String) async -> String {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.receive(until: marker)) }
        }
    }

    /// `receiveAll()` on a thread of its own, for the reason `answer(until:)` gives.
    public func answerAll() async -> RawExchange {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.receiveAll()) }
        }
    }

    /// Reads until what came holds `marker`, the server closes the connection or nothing has come for the timeout.
    @discardableResult
    public func receive(until marker: String) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer.prefix(count)
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Reads until the server closes the connection or nothing has come for the timeout.
    public func receiveAll() -> RawExchange {
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

/// The C library's close, which `LoopbackConnection.close()` hides inside the class.
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// A socket call that failed, with its `errno`.
public enum RawExchangeError: Error {
    case socket(Int32)
    case connect(Int32)
    case send(Int32)
}
