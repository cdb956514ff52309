import HTTPTypes
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The server's open connections, bounded: beyond `limit`, a new connection makes room by closing the one that
/// has waited longest for a request head (an idle keep-alive or a client that stalls half-way through its head);
/// when every connection has a request in flight, the new one is answered 503 and closed. Stalled clients can
/// therefore never use up the process's file descriptors and starve real requests.
final class ConnectionGuard: Sendable {
    /// Most connections open at once.
    let limit: Int
    /// How long a connection may wait for a whole request head, from its accept or its previous response,
    /// however slowly the head's bytes trickle; nil for no limit.
    let headTimeout: Duration?
    private let logger: Logger
    private let state = Mutex(Connections())
    private let openGauge: Gauge
    private let refusedCounter: Metrics.Counter
    private let evictedCounter: Metrics.Counter

    private struct Connections {
        /// The open connections; `waitingSince` orders those waiting for a head, nil while a request is in flight.
        var open: [ObjectIdentifier: (channel: any Channel, waitingSince: UInt64?)] = [:]
        var clock: UInt64 = 0
    }

    /// A guard of `limit` connections that records `shoal_connections`, `shoal_connections_refused_total` and
    /// `shoal_connections_evicted_total` through `metrics`.
    init(limit: Int, headTimeout: Duration?, logger: Logger, metrics: any MetricsFactory) {
        self.limit = limit
        self.headTimeout = headTimeout
        self.logger = logger
        openGauge = Gauge(label: "shoal_connections", factory: metrics)
        refusedCounter = Metrics.Counter(label: "shoal_connections_refused_total", factory: metrics)
        evictedCounter = Metrics.Counter(label: "shoal_connections_evicted_total", factory: metrics)
        openGauge.record(0)
        refusedCounter.increment(by: 0)
        evictedCounter.increment(by: 0)
    }

    /// A handler for one new connection.
    func handler() -> Handler { Handler(guard: self) }

    /// Registers `channel`; false when it must be refused because every open connection is busy.
    fileprivate func admit(_ channel: any Channel) -> Bool {
        let (admitted, victim, open): (Bool, (any Channel)?, Int) = state.withLock { connections in
            var victim: (any Channel)?
            if connections.open.count >= limit {
                let oldest = connections.open.compactMap { entry in entry.value.waitingSince.map { (entry.key, $0) } }
                    .min { $0.1 < $1.1 }
                guard let oldest else { return (false, nil, connections.open.count) }
                victim = connections.open.removeValue(forKey: oldest.0)?.channel
            }
            connections.clock += 1
            connections.open[ObjectIdentifier(channel)] = (channel, connections.clock)
            return (true, victim, connections.open.count)
        }
        openGauge.record(open)
        if let victim {
            evictedCounter.increment()
            logger.debug("closing the connection longest without a request head: at the limit of \(limit) connections")
            victim.close(promise: nil)
        }
        if !admitted {
            refusedCounter.increment()
            logger.warning("refusing a connection: all \(limit) connections have a request in flight")
        }
        return admitted
    }

    /// Marks `channel` busy (a head arrived) or waiting for its next head.
    fileprivate func mark(_ channel: any Channel, busy: Bool) {
        state.withLock { connections in
            let id = ObjectIdentifier(channel)
            guard connections.open[id] != nil else { return }
            connections.clock += 1
            connections.open[id]?.waitingSince = busy ? nil : connections.clock
        }
    }

    fileprivate func remove(_ channel: any Channel) {
        let open = state.withLock { connections in
            connections.open[ObjectIdentifier(channel)] = nil
            return connections.open.count
        }
        openGauge.record(open)
    }

    /// Tracks one connection: registers it when it opens, closes it when its head deadline passes, and answers
    /// a refused connection's first request with 503.
    final class Handler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        private let connections: ConnectionGuard
        /// Set once the connection is registered; a refused connection is never registered.
        private var registered = false
        private var refused = false
        private var deadline: Scheduled<Void>?

        fileprivate init(guard connections: ConnectionGuard) {
            self.connections = connections
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { open(context: context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            if !registered && !refused { open(context: context) }
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            deadline?.cancel()
            if registered { connections.remove(context.channel) }
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            deadline?.cancel()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !refused else {
                if case .head = unwrapInboundIn(data) { refuse(context: context) }
                return
            }
            if case .head = unwrapInboundIn(data) {
                deadline?.cancel()
                connections.mark(context.channel, busy: true)
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data), registered {
                connections.mark(context.channel, busy: false)
                armDeadline(context: context)
            }
            context.write(data, promise: promise)
        }

        private func open(context: ChannelHandlerContext) {
            if connections.admit(context.channel) {
                registered = true
                armDeadline(context: context)
            } else {
                refused = true
                // A refused client gets a moment to send its head and read why; then the connection goes.
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                deadline = context.eventLoop.scheduleTask(in: .seconds(1)) { bound.value.close(promise: nil) }
            }
        }

        private func armDeadline(context: ChannelHandlerContext) {
            deadline?.cancel()
            guard let timeout = connections.headTimeout else { return }
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) { bound.value.close(promise: nil) }
        }

        private func refuse(context: ChannelHandlerContext) {
            APIError(.serviceUnavailable,
                     "the server is at its limit of \(connections.limit) connections, all busy; retry shortly",
                     headers: [.retryAfter: "1"]).writeAndClose(on: context)
        }
    }
}
