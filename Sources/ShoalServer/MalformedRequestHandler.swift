import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser cannot read with a status and a body that say why (431 for a head over the
/// parser's limits, 400 otherwise), then closes the connection: the framework's own answer is an empty 400.
final class MalformedRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Whether a response has begun on this connection and not ended: then no second head may be written.
    private var responding = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: responding = true
        case .end: responding = false
        default: break
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError, !responding else {
            context.fireErrorCaught(error)
            return
        }
        let refusal = switch error {
        case .headerOverflow:
            APIError(.requestHeaderFieldsTooLarge, "the request's URL and headers exceed 80 KiB; send long texts in a POST body")
        default:
            APIError(.badRequest, "malformed HTTP request (\(error)); the connection is closed")
        }
        refusal.writeAndClose(on: context)
    }
}
