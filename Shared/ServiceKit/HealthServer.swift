public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle

/// A request to an ``HTTPEndpoint``: the body is complete and within the endpoint's limit.
public struct HTTPRequest: Sendable {
    /// `POST`, `PUT`, …
    public var method: String
    /// The path without the query string.
    public var path: String
    /// Header fields, names as sent (look them up with ``header(_:)``).
    public var headers: [(name: String, value: String)]
    /// The whole body.
    public var body: [UInt8]

    public init(method: String, path: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// An ``HTTPEndpoint``'s answer.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, contentType: String, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }
}

/// A request handler a service adds beside health and metrics (intake's webhook is one). It is
/// also a lifecycle ``Service``: it starts before the HTTP server and stops after it, so it can
/// own resources (a producer) that in-flight requests still need.
public protocol HTTPEndpoint: Service {
    /// The path it answers (other methods than ``method`` get 405).
    var path: String { get }
    /// The method it accepts, e.g. `POST`.
    var method: String { get }
    /// Larger bodies are refused with 413 before they are read.
    var maxBodyBytes: Int { get }
    /// Answers one request; may suspend (e.g. until the broker acknowledged).
    func handle(_ request: HTTPRequest) async -> HTTPResponse
}

/// The service's HTTP endpoint: `/health/live`, `/health/ready` and `/metrics` (Prometheus
/// text), plus the service's own ``HTTPEndpoint``s.
///
/// Runs until graceful shutdown; it is first in the service group, so it answers probes until
/// the pipeline has finished stopping.
public final class HealthServer: Service, CustomStringConvertible {
    /// What a GET request gets: status code, content type, body.
    public typealias Route = @Sendable () -> (status: Int, contentType: String, body: [UInt8])

    private let host: String
    private let port: Int
    private let routes: [String: Route]
    private let endpoints: [String: any HTTPEndpoint]
    private let logger: Logger
    private let bound = BoundPort()

    public init(
        host: String = "0.0.0.0",
        port: Int,
        routes: [String: Route],
        endpoints: [any HTTPEndpoint] = [],
        logger: Logger
    ) {
        self.host = host
        self.port = port
        self.routes = routes
        self.endpoints = Dictionary(endpoints.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.logger = logger
    }

    public var description: String { "HealthServer(\(host):\(port))" }

    /// The port actually bound (useful with port 0), once listening.
    public var boundPort: Int? { bound.value }

    public func run() async throws {
        let routes = self.routes
        let endpoints = self.endpoints
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                // Built on the channel's event loop: the handler never crosses threads.
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPRouteHandler(routes: routes, endpoints: endpoints)
                    )
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

/// Answers GET requests from a fixed route table and hands other requests to the endpoint of
/// their path, body collected up to the endpoint's limit (413 beyond it; the rest of the body is
/// read and dropped, up to ``drainLimit``, then the connection closes). Anything else is 404 / 405.
private final class HTTPRouteHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: [String: HealthServer.Route]
    private let endpoints: [String: any HTTPEndpoint]
    private var request: HTTPRequestHead?
    private var body: [UInt8] = []
    /// The request was already answered (413) and its remaining parts are ignored.
    private var answered = false
    /// Bytes of an answered request's body dropped so far.
    private var dropped = 0
    /// The 413's write, after which the connection may close.
    private var answerWritten: EventLoopFuture<Void>?
    /// An over-limit body is read and dropped up to this many bytes before the connection closes:
    /// a socket closed with unread bytes is reset, and the client may then lose the 413 itself.
    static let drainLimit = 8 << 20

    init(routes: [String: HealthServer.Route], endpoints: [String: any HTTPEndpoint]) {
        self.routes = routes
        self.endpoints = endpoints
    }

    private static func text(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain", body: Array("\(message)\n".utf8))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
            body.removeAll(keepingCapacity: false)
            answered = false
            dropped = 0
            if let endpoint = endpoints[Self.path(head)], head.method.rawValue == endpoint.method,
                let length = head.headers.first(name: "Content-Length").flatMap(Int.init),
                length > endpoint.maxBodyBytes
            {
                tooLarge(context: context, head: head, limit: endpoint.maxBodyBytes)
            }
        case .body(var buffer):
            if answered {
                dropped += buffer.readableBytes
                if dropped > Self.drainLimit { closeAfterAnswer(context) }
                return
            }
            guard let head = request else { return }
            guard let endpoint = endpoints[Self.path(head)], head.method.rawValue == endpoint.method else { return }
            if body.count + buffer.readableBytes > endpoint.maxBodyBytes {
                tooLarge(context: context, head: head, limit: endpoint.maxBodyBytes)
                return
            }
            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .end:
            guard let head = request else { return }
            request = nil
            if answered {
                closeAfterAnswer(context)
                return
            }
            let path = Self.path(head)
            if let endpoint = endpoints[path] {
                guard head.method.rawValue == endpoint.method else {
                    respond(context: context, head: head, Self.text(405, "method not allowed"))
                    return
                }
                let request = HTTPRequest(
                    method: head.method.rawValue,
                    path: path,
                    headers: head.headers.map { ($0.name, $0.value) },
                    body: body
                )
                body = []
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.makeFutureWithTask { await endpoint.handle(request) }
                    .whenSuccess { response in
                        let (handler, context) = bound.value
                        handler.respond(context: context, head: head, response)
                    }
                return
            }
            if head.method != .GET && head.method != .HEAD {
                respond(context: context, head: head, Self.text(405, "method not allowed"))
            } else if let route = routes[path] {
                let (status, contentType, body) = route()
                respond(
                    context: context,
                    head: head,
                    HTTPResponse(status: status, contentType: contentType, body: body)
                )
            } else {
                respond(context: context, head: head, Self.text(404, "not found"))
            }
        }
    }

    private static func path(_ head: HTTPRequestHead) -> String {
        String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
    }

    /// 413 with `Connection: close`; the connection closes once the rest of the body has been
    /// read and dropped (at the request's end, or past ``drainLimit``).
    private func tooLarge(context: ChannelHandlerContext, head: HTTPRequestHead, limit: Int) {
        answered = true
        body = []
        answerWritten = respond(
            context: context,
            head: head,
            Self.text(413, "request body larger than \(limit) bytes"),
            close: true,
            closeChannel: false
        )
    }

    private func closeAfterAnswer(_ context: ChannelHandlerContext) {
        let channel = context.channel
        if let written = answerWritten {
            written.whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
        answerWritten = nil
    }

    @discardableResult
    private func respond(
        context: ChannelHandlerContext,
        head: HTTPRequestHead,
        _ response: HTTPResponse,
        close: Bool = false,
        closeChannel: Bool = true
    ) -> EventLoopFuture<Void> {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        let keepAlive = head.isKeepAlive && !close
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(
            version: head.version,
            status: HTTPResponseStatus(statusCode: response.status),
            headers: headers
        )
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))),
                promise: nil
            )
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive && closeChannel {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
        return done
    }
}
