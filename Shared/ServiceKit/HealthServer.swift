public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle

/// The service's HTTP endpoint: `/health/live`, `/health/ready` and `/metrics` (Prometheus text).
///
/// Runs until graceful shutdown; it is first in the service group, so it answers probes until
/// the pipeline has finished stopping.
public final class HealthServer: Service, CustomStringConvertible {
    /// What a request gets: status code, content type, body.
    public typealias Route = @Sendable () -> (status: Int, contentType: String, body: [UInt8])

    private let host: String
    private let port: Int
    private let routes: [String: Route]
    private let logger: Logger
    private let bound = BoundPort()

    public init(host: String = "0.0.0.0", port: Int, routes: [String: Route], logger: Logger) {
        self.host = host
        self.port = port
        self.routes = routes
        self.logger = logger
    }

    public var description: String { "HealthServer(\(host):\(port))" }

    /// The port actually bound (useful with port 0), once listening.
    public var boundPort: Int? { bound.value }

    public func run() async throws {
        let routes = self.routes
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                // Built on the channel's event loop: the handler never crosses threads.
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HTTPRouteHandler(routes: routes))
                }
            }
            .bind(host: host, port: port)
            .get()
        bound.set(channel.localAddress?.port)
        logger.info("http listening", metadata: ["http.port": "\(channel.localAddress?.port ?? port)"])
        try? await gracefulShutdown()
        try await channel.close()
    }
}

private final class BoundPort: @unchecked Sendable {
    private let lock = NIOLock()
    private var port: Int?
    var value: Int? { lock.withLock { port } }
    func set(_ value: Int?) { lock.withLock { port = value } }
}

/// Answers GET requests from a fixed route table; anything else is 404 / 405.
private final class HTTPRouteHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: [String: HealthServer.Route]
    private var request: HTTPRequestHead?

    init(routes: [String: HealthServer.Route]) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let (status, contentType, body): (Int, String, [UInt8])
            if head.method != .GET && head.method != .HEAD {
                (status, contentType, body) = (405, "text/plain", Array("method not allowed\n".utf8))
            } else if let route = routes[path] {
                (status, contentType, body) = route()
            } else {
                (status, contentType, body) = (404, "text/plain", Array("not found\n".utf8))
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            let response = HTTPResponseHead(
                version: head.version,
                status: HTTPResponseStatus(statusCode: status),
                headers: headers
            )
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            if head.method != .HEAD {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
                    promise: nil
                )
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                done.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
