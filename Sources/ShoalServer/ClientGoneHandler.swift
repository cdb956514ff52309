import NIOCore

/// Closes a connection whose client has closed its side, so that its queued work is dropped before compute
/// (the engine checks `Channel.isActive`); a client that half-closes is taken as gone.
final class ClientGoneHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
