import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// How an HTTP exchange with a server failed, decided from the error's type (AsyncHTTPClient's
/// `HTTPClientError`, NIO's connection and channel errors, POSIX errno codes), never from its text.
/// The gateway retries on another replica exactly when the request never reached a live server; the load
/// tester counts failures by this kind.
public enum TransportFailure: String, Sendable, CaseIterable {
    /// The answer did not come in time, or no connection came within the connect timeout.
    case timeout
    /// No connection could be made: refused, unreachable, or no address.
    case connect
    /// The server closed or reset the connection.
    case closed
    /// The request was cancelled.
    case cancelled
    /// Anything else: a malformed answer, a TLS or proxy failure, an error of ours.
    case other

    /// The kind of `error`; an error that wraps others (a failed connection attempt per address) takes the kind
    /// of the first one it knows.
    public init(_ error: any Error) {
        switch error {
        case let error as HTTPClientError: self = Self.kind(of: error)
        case let error as NIOConnectionError:
            self = error.connectionErrors.lazy.map { Self($0.error) }.first { $0 != .other } ?? .connect
        case let error as ChannelError: self = Self.kind(of: error)
        case let error as IOError: self = Self.kind(errno: error.errnoCode)
        case is CancellationError: self = .cancelled
        default: self = .other
        }
    }

    /// Whether the request never reached a live server, so that another replica can take it: the connection
    /// was refused or closed. A timeout is not retried: the server may be working on the request.
    public var isUnreachable: Bool { self == .connect || self == .closed }

    private static let timeouts: [HTTPClientError] = [
        .readTimeout, .writeTimeout, .connectTimeout, .deadlineExceeded, .tlsHandshakeTimeout,
        .socksHandshakeTimeout, .httpProxyHandshakeTimeout, .getConnectionFromPoolTimeout,
    ]

    private static func kind(of error: HTTPClientError) -> TransportFailure {
        if timeouts.contains(error) { return .timeout }
        if error == .remoteConnectionClosed { return .closed }
        if error == .cancelled || error == .requestStreamCancelled { return .cancelled }
        return .other
    }

    private static func kind(of error: ChannelError) -> TransportFailure {
        switch error {
        case .connectTimeout: .timeout
        case .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed, .eof: .closed
        case .writeHostUnreachable: .connect
        default: .other
        }
    }

    private static func kind(errno code: CInt) -> TransportFailure {
        switch code {
        case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, EHOSTDOWN, ENETDOWN: .connect
        case ECONNRESET, ECONNABORTED, EPIPE, ENOTCONN: .closed
        case ETIMEDOUT: .timeout
        default: .other
        }
    }
}
