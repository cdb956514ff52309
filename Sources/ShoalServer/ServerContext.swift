import Hummingbird
import NIOCore

/// The context of one request: the connection it came on, so that work stops when the client goes away.
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection.
    public let channel: any Channel
    /// The request id, from `X-Request-ID` or generated.
    public var requestID = ""

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
