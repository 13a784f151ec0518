import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Telemetry

/// The dashboard's HTTP endpoints (Hummingbird 2).
///
/// Pages: `/` (fleet, live), `/bins/<id>` (charts). JSON: `GET /api/bins`,
/// `GET /api/bins/<id>`, `GET /api/events?bin=&since=&limit=&order=`,
/// `GET /api/alerts?bin=&since=&limit=`, `GET /api/fill?bin=&compartment=&since=&limit=`,
/// `GET /api/needs_emptying`, `GET /api/stream`
/// (server-sent events), `GET /metrics` (Prometheus text), `GET /healthz`. Commands:
/// `POST /api/bins/<id>/cmd/<flap_test|maintenance>` with `Authorization: Bearer <token>`,
/// answered 403 when no admin token is configured (read-only mode).
public struct DashboardRoutes: Sendable {
    /// Commands the dashboard may send.
    public static let commands: Set<String> = ["flap_test", "maintenance"]
    /// Default and largest `limit` of `/api/events`.
    public static let defaultEventLimit = 100
    public static let maxEventLimit = 10_000
    /// Events charted on a bin page.
    public static let chartedEvents = 5000
    /// Fill samples (all compartments together) charted on a bin page.
    public static let chartedFillSamples = 5000

    public let store: DashboardStore
    public let feed: LiveFeed
    public let metrics: DashboardMetrics
    public let commandPublisher: (any CommandPublisher)?
    public let adminToken: AdminToken?
    /// First topic level, for command topics.
    public let prefix: String
    public let now: @Sendable () -> Double
    let logger: Logger

    public init(store: DashboardStore, feed: LiveFeed, metrics: DashboardMetrics,
                commandPublisher: (any CommandPublisher)? = nil, adminToken: AdminToken? = nil,
                prefix: String = "smartbin", now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                logger: Logger = Logger(label: "smartbin.dashboard.http")) {
        self.store = store
        self.feed = feed
        self.metrics = metrics
        self.commandPublisher = commandPublisher
        self.adminToken = adminToken
        self.prefix = prefix
        self.now = now
        self.logger = logger
    }

    /// A router with every endpoint.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in try await self.fleetPage() }
        router.get("/bins/:id") { _, context in try await self.binPage(try context.parameters.require("id")) }
        router.get("/api/bins") { _, _ in
            Self.json(BinSummary.jsonArray(try await self.store.bins(now: self.now())))
        }
        router.get("/api/bins/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let bin = try await self.store.bin(id, now: self.now()) else {
                throw HTTPError(.notFound, message: "no bin '\(id)'")
            }
            var json = JSONText()
            bin.write(to: &json)
            return Self.json(json.text)
        }
        router.get("/api/events") { request, _ in try await self.events(request) }
        router.get("/api/alerts") { request, _ in try await self.alerts(request) }
        router.get("/api/fill") { request, _ in try await self.fillHistory(request) }
        router.get("/api/needs_emptying") { _, _ in
            Self.json(NeedsEmptying.jsonArray(NeedsEmptying.list(try await self.store.bins(now: self.now()))))
        }
        router.get("/api/stream") { _, _ in self.stream() }
        router.get("/metrics") { _, _ in try await self.prometheus() }
        router.get("/healthz") { _, _ in Self.text("ok\n") }
        router.post("/api/bins/:id/cmd/:name") { request, context in
            try await self.command(request, binID: try context.parameters.require("id"),
                                   name: try context.parameters.require("name"))
        }
        return router
    }

    // MARK: Handlers

    func fleetPage() async throws -> Response {
        async let bins = store.bins(now: now())
        async let recent = store.eventPayloads(bin: nil, since: nil, limit: 50, order: .desc)
        return Self.html(FleetPage.render(bins: try await bins, recentEvents: try await recent))
    }

    func binPage(_ id: String) async throws -> Response {
        let now = now()
        guard let bin = try await store.bin(id, now: now) else {
            throw HTTPError(.notFound, message: "no bin '\(id)'")
        }
        let points = try await store.eventPoints(bin: id, limit: Self.chartedEvents)
        let changes = try await store.changes(bin: id, limit: 20)
        let fill = try await store.fillHistory(bin: id, compartment: nil, since: nil, limit: Self.chartedFillSamples)
        return Self.html(BinPage.render(bin: bin, stats: BinStatistics(points), changes: changes, fill: fill, now: now))
    }

    /// `GET /api/events`: a JSON array of stored events exactly as published.
    /// `bin` (optional) filters by bin id; `since` (RFC 3339, inclusive, on the event's `ts`);
    /// `limit` 1…10000, default 100; `order=desc` (default, newest first) or `asc`.
    func events(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let bin = query["bin"].map(String.init)
        var since: Double?
        if let text = query["since"] {
            guard let parsed = RFC3339.parse(String(text)) else {
                throw HTTPError(.badRequest, message: "since: not an RFC 3339 timestamp: \(text)")
            }
            since = parsed
        }
        var limit = Self.defaultEventLimit
        if let text = query["limit"] {
            guard let parsed = Int(text), (1...Self.maxEventLimit).contains(parsed) else {
                throw HTTPError(.badRequest, message: "limit: expected an integer from 1 to \(Self.maxEventLimit), got \(text)")
            }
            limit = parsed
        }
        var order = EventOrder.desc
        if let text = query["order"] {
            guard let parsed = EventOrder(rawValue: String(text)) else {
                throw HTTPError(.badRequest, message: "order: expected asc or desc, got \(text)")
            }
            order = parsed
        }
        let payloads = try await store.eventPayloads(bin: bin, since: since, limit: limit, order: order)
        var body = "["
        body.reserveCapacity(payloads.reduce(2) { $0 + $1.utf8.count + 1 })
        for (index, payload) in payloads.enumerated() {
            if index > 0 { body += "," }
            body += payload
        }
        body += "]"
        return Self.json(body)
    }

    /// `GET /api/alerts`: a JSON array of stored fill alerts exactly as published, newest first.
    /// `bin` (optional); `since` (RFC 3339, inclusive, on the alert's `ts`); `limit` 1…10000,
    /// default 100.
    func alerts(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let payloads = try await store.alertPayloads(bin: query["bin"].map(String.init),
                                                     since: try Self.since(query["since"]),
                                                     limit: try Self.limit(query["limit"]))
        return Self.json("[" + payloads.joined(separator: ",") + "]")
    }

    /// `GET /api/fill`: a bin's fill history (`bin` required; `compartment` optional; `since`
    /// RFC 3339 inclusive; `limit` 1…10000, default 10000 — the newest samples), oldest first.
    func fillHistory(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard let bin = query["bin"].map(String.init), !bin.isEmpty else {
            throw HTTPError(.badRequest, message: "bin: required")
        }
        let samples = try await store.fillHistory(bin: bin, compartment: query["compartment"].map(String.init),
                                                  since: try Self.since(query["since"]),
                                                  limit: try Self.limit(query["limit"], default: Self.maxEventLimit))
        return Self.json(FillSample.jsonArray(samples))
    }

    /// The `since` parameter: nil when absent.
    /// - Throws: a 400 naming the parameter when it is not RFC 3339.
    static func since(_ text: Substring?) throws -> Double? {
        guard let text else { return nil }
        guard let parsed = RFC3339.parse(String(text)) else {
            throw HTTPError(.badRequest, message: "since: not an RFC 3339 timestamp: \(text)")
        }
        return parsed
    }

    /// The `limit` parameter, 1…`maxEventLimit`.
    /// - Throws: a 400 naming the parameter when it is out of range or not an integer.
    static func limit(_ text: Substring?, default fallback: Int = defaultEventLimit) throws -> Int {
        guard let text else { return fallback }
        guard let parsed = Int(text), (1...maxEventLimit).contains(parsed) else {
            throw HTTPError(.badRequest, message: "limit: expected an integer from 1 to \(maxEventLimit), got \(text)")
        }
        return parsed
    }

    /// `GET /api/stream`: server-sent events until the client goes or the feed finishes.
    func stream() -> Response {
        let messages = feed.subscribe()
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            // Tell the browser to retry quickly after a restart, and flush headers at once.
            try await writer.write(ByteBuffer(string: "retry: 2000\n: connected\n\n"))
            for await message in messages {
                try await writer.write(ByteBuffer(string: message.serverSentEvent))
            }
            try await writer.finish(nil)
        })
    }

    func prometheus() async throws -> Response {
        let bins = try await store.bins(now: now())
        let text = metrics.prometheusText(binsOnline: bins.filter { $0.availability == "online" }.count,
                                          binsKnown: bins.count, sseClients: feed.subscriberCount)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `POST /api/bins/<id>/cmd/<name>`: publishes the request body (a JSON object, `{}` when
    /// empty) on `<prefix>/<fleet>/<id>/cmd/<name>`, QoS 1. Answers
    /// `{"topic": …, "published": true}`.
    func command(_ request: Request, binID: String, name: String) async throws -> Response {
        guard let adminToken, let commandPublisher else {
            throw HTTPError(.forbidden, message: "read-only dashboard: start it with --admin-token-file to allow commands")
        }
        guard adminToken.authorizes(authorizationHeader: request.headers[.authorization]) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer realm=\"smartbin-dashboard\""
            throw HTTPError(.unauthorized, headers: headers, message: "a valid bearer token is required")
        }
        guard Self.commands.contains(name) else {
            throw HTTPError(.notFound, message: "unknown command '\(name)' (allowed: \(Self.commands.sorted().joined(separator: ", ")))")
        }
        guard let bin = try await store.bin(binID, now: now()) else {
            throw HTTPError(.notFound, message: "no bin '\(binID)'")
        }
        var request = request
        let body = try await request.collectBody(upTo: 16 * 1024)
        var payload = Array(body.readableBytesView)
        if payload.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            payload = Array("{}".utf8)
        } else if !((try? JSONSerialization.jsonObject(with: Data(payload))) is [String: Any]) {
            throw HTTPError(.badRequest, message: "the command body must be a JSON object")
        }
        let topic = TopicLayout(prefix: prefix, fleet: bin.fleet, binID: binID).command(name)
        do {
            try await commandPublisher.publishCommand(topic: topic, payload: payload)
        } catch {
            logger.error("command not published", metadata: ["topic": "\(topic)", "error": "\(error)"])
            throw HTTPError(.badGateway, message: "the broker did not accept the command: \(error)")
        }
        logger.notice("command published", metadata: ["topic": "\(topic)", "bytes": "\(payload.count)"])
        var json = JSONText()
        json.beginObject()
        json.key("topic"); json.string(topic)
        json.key("published"); json.bool(true)
        json.endObject()
        return Self.json(json.text, status: .accepted)
    }

    // MARK: Responses

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func html(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
