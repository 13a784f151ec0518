import ArgumentParser
import Dashboard
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Telemetry

/// `smartbin-dashboard`: subscribes to the fleet's MQTT topics, stores history in SQLite and
/// serves the fleet web page and JSON API.
@main
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smartbin-dashboard",
        abstract: "Fleet dashboard: stores every SmartBin event and availability/state change from MQTT in SQLite and serves a live web page and JSON API.",
        discussion: """
            Pages: / (fleet, live), /bins/<id> (charts). API: GET /api/bins, /api/bins/<id>,
            /api/events?bin=&since=&limit=&order=, /api/stream (server-sent events), /metrics.
            Read-only unless --admin-token-file is given: then POST /api/bins/<id>/cmd/<flap_test|maintenance>
            with 'Authorization: Bearer <token>' publishes the command.
            """)

    @Option(help: "MQTT broker as HOST:PORT.")
    var broker = "127.0.0.1:1883"

    @Option(help: "Address for the web server as HOST:PORT (port 0 picks a free one).")
    var http = "127.0.0.1:8080"

    @Option(help: "SQLite database file (created when missing; WAL mode).")
    var db = "smartbin-dashboard.sqlite"

    @Option(help: "File holding the bearer token that enables the command endpoints (at least 16 characters).")
    var adminTokenFile: String?

    @Option(help: "MQTT user name.")
    var username: String?

    @Option(help: "File holding the MQTT password (needs --username; mode 600, owned by the dashboard's user: any other mode is refused).")
    var passwordFile: String?

    @Flag(help: "Connect to the broker over TLS.")
    var tls = false

    @Option(help: "CA certificate (PEM) that signed the broker's certificate (implies --tls).")
    var caFile: String?

    @Option(help: "Client certificate (PEM), for brokers that authenticate clients by certificate.")
    var certFile: String?

    @Option(help: "Client key (PEM) for --cert-file.")
    var keyFile: String?

    @Option(help: "TLS version: tlsv1.2 or tlsv1.3 (implies --tls; default tlsv1.2, as the firmware's mqtt.tls_version).")
    var tlsVersion: String?

    @Option(help: "MQTT client id. Keep it stable: the broker then queues QoS 1 events while the dashboard is down.")
    var clientID = "smartbin-dashboard"

    @Option(help: "First topic level of the fleet's topics.")
    var prefix = "smartbin"

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "info"

    func validate() throws {
        _ = try Self.hostPort(broker, option: "--broker")
        _ = try Self.hostPort(http, option: "--http")
        if passwordFile != nil && username == nil { throw ValidationError("--password-file needs --username") }
        if (certFile == nil) != (keyFile == nil) { throw ValidationError("--cert-file and --key-file go together") }
        if let tlsVersion, !Self.tlsVersions.contains(tlsVersion) {
            throw ValidationError("--tls-version: expected \(Self.tlsVersions.joined(separator: " or ")), got '\(tlsVersion)'")
        }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
        if prefix.isEmpty || prefix.contains("/") || prefix.contains("+") || prefix.contains("#") {
            throw ValidationError("--prefix must be one topic level without wildcards")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "smartbin.dashboard")
        let (brokerHost, brokerPort) = try Self.hostPort(broker, option: "--broker")
        let (httpHost, httpPort) = try Self.hostPort(http, option: "--http")

        var mqtt = MQTTConfiguration(host: brokerHost, port: brokerPort, clientID: clientID, cleanSession: false)
        if let username {
            mqtt.username = username
            if let passwordFile {
                mqtt.password = try Self.readSecret(passwordFile, what: "--password-file")
            }
        }
        if tls || caFile != nil || certFile != nil || tlsVersion != nil {
            mqtt.tls = .init(caFile: caFile, certFile: certFile, keyFile: keyFile, version: tlsVersion ?? "tlsv1.2")
        }
        let adminToken = try adminTokenFile.map { try AdminToken.load(file: $0) }

        let store = try DashboardStore(path: db)
        let client = try MQTTClient(configuration: mqtt, logger: Logger(label: "smartbin.dashboard.mqtt"))
        let messages = try client.subscribe("\(prefix)/#", qos: 1)
        let feed = LiveFeed()
        let metrics = DashboardMetrics()
        var ingestor = Ingestor(messages: messages, store: store, feed: feed, metrics: metrics, prefix: prefix)
        ingestor.waitsForShutdownTurn = true
        let routes = DashboardRoutes(store: store, feed: feed, metrics: metrics,
                                     commandPublisher: adminToken == nil ? nil : client,
                                     adminToken: adminToken, prefix: prefix)
        let app = Application(
            router: routes.router(),
            configuration: .init(address: .hostname(httpHost, port: httpPort), serverName: "smartbin-dashboard"),
            onServerRunning: { channel in
                // Printed on stdout so scripts and tests can find a port chosen by the system.
                let line = "smartbin-dashboard: listening on http://\(channel.localAddress?.ipAddress ?? httpHost):\(channel.localAddress?.port ?? httpPort)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            },
            logger: Logger(label: "smartbin.dashboard.http"))
        logger.info("starting", metadata: [
            "broker": "\(mqtt)", "db": "\(db)", "http": "\(http)",
            "commands": "\(adminToken == nil ? "disabled (read-only)" : "enabled")"])
        // Graceful shutdown runs in reverse: MQTT disconnects (ending the subscription), the
        // ingestor stores what it holds, the feed ends the SSE streams, then the server drains.
        // Any of the three ending on its own means the dashboard is done: each of them returning
        // shuts the group down gracefully rather than cancelling it.
        let done = ServiceGroupConfiguration.ServiceConfiguration.TerminationBehavior.gracefullyShutdownGroup
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: app, serviceName: "http"),
                .init(service: feed, successTerminationBehavior: done, serviceName: "live-feed"),
                .init(service: ingestor, successTerminationBehavior: done, serviceName: "ingest"),
                .init(service: MQTTConnectionService(client: client), successTerminationBehavior: done, serviceName: "mqtt"),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// Splits `HOST:PORT` (IPv6 as `[::1]:PORT`).
    static func hostPort(_ text: String, option: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ValidationError("\(option): expected HOST:PORT, got '\(text)'")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("\(option): expected HOST:PORT, got '\(text)'") }
        return (host, port)
    }

    /// The TLS versions `--tls-version` takes (the firmware's `mqtt.tls_version` takes the same).
    static let tlsVersions = ["tlsv1.2", "tlsv1.3"]

    /// Reads a secret file with the firmware's rule (`SecretFile`): mode 600 or stricter, not
    /// empty; anything else is refused with one line naming the file and its mode.
    static func readSecret(_ path: String, what: String) throws -> String {
        do { return try SecretFile.read(path, what: what) } catch {
            throw DashboardError(.configuration, error.message)
        }
    }
}
