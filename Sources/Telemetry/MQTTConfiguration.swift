/// How to reach and log in to the MQTT broker.
///
/// The password is never logged: `description` redacts it.
public struct MQTTConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// TLS settings (all paths are PEM files readable by the firmware's user).
    public struct TLS: Sendable, Hashable {
        /// CA certificate file that signed the broker's certificate.
        public var caFile: String?
        /// Directory of hashed CA certificates (alternative to `caFile`).
        public var caPath: String?
        /// Client certificate and key, for brokers that authenticate clients by certificate.
        public var certFile: String?
        public var keyFile: String?
        /// `tlsv1.2` or `tlsv1.3`; nil lets OpenSSL choose.
        public var version: String?
        /// OpenSSL cipher list; nil for the default.
        public var ciphers: String?
        /// Skip the broker host name check (never in production).
        public var insecureSkipHostnameCheck: Bool

        public init(caFile: String? = nil, caPath: String? = nil, certFile: String? = nil,
                    keyFile: String? = nil, version: String? = "tlsv1.2", ciphers: String? = nil,
                    insecureSkipHostnameCheck: Bool = false) {
            self.caFile = caFile
            self.caPath = caPath
            self.certFile = certFile
            self.keyFile = keyFile
            self.version = version
            self.ciphers = ciphers
            self.insecureSkipHostnameCheck = insecureSkipHostnameCheck
        }
    }

    /// The availability topic: retained `online` on every connect, `offline` as the Last Will,
    /// `stopped` on clean shutdown (all QoS 1, retained).
    public struct Availability: Sendable, Hashable {
        public var topic: String
        public var online: String
        public var offline: String
        public var stopped: String

        public init(topic: String, online: String = "online", offline: String = "offline",
                    stopped: String = "stopped") {
            self.topic = topic
            self.online = online
            self.offline = offline
            self.stopped = stopped
        }
    }

    public var host: String
    /// TCP port (1883 plain, 8883 TLS by convention).
    public var port: Int
    /// MQTT client id; the bin id in the fleet. Must be unique per broker.
    public var clientID: String
    public var username: String?
    public var password: String?
    /// Keep-alive interval in seconds; the broker declares the client dead (and sends its Will)
    /// after 1.5 × this without traffic.
    public var keepAliveSeconds: Int
    /// False keeps the broker session (subscriptions, QoS 1 in flight) across reconnects.
    public var cleanSession: Bool
    public var tls: TLS?
    public var availability: Availability?
    /// Reconnect back-off in seconds: starts at `reconnectDelayMin`, doubles (when
    /// `reconnectExponential`) up to `reconnectDelayMax`.
    public var reconnectDelayMin: Int
    public var reconnectDelayMax: Int
    public var reconnectExponential: Bool
    /// QoS 1 messages in flight at once; later ones queue inside libmosquitto, in order.
    public var maxInflightMessages: Int

    public init(host: String = "127.0.0.1", port: Int = 1883, clientID: String,
                username: String? = nil, password: String? = nil, keepAliveSeconds: Int = 30,
                cleanSession: Bool = false, tls: TLS? = nil, availability: Availability? = nil,
                reconnectDelayMin: Int = 1, reconnectDelayMax: Int = 30,
                reconnectExponential: Bool = true, maxInflightMessages: Int = 20) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.username = username
        self.password = password
        self.keepAliveSeconds = keepAliveSeconds
        self.cleanSession = cleanSession
        self.tls = tls
        self.availability = availability
        self.reconnectDelayMin = reconnectDelayMin
        self.reconnectDelayMax = reconnectDelayMax
        self.reconnectExponential = reconnectExponential
        self.maxInflightMessages = maxInflightMessages
    }

    /// `host:port`, as errors and logs name the broker.
    public var endpoint: String { "\(host):\(port)" }

    public var description: String {
        "MQTTConfiguration(\(endpoint), client_id: \(clientID), user: \(username ?? "-"), "
            + "password: \(password == nil ? "-" : "<redacted>"), tls: \(tls == nil ? "off" : "on"), "
            + "keepalive: \(keepAliveSeconds)s, clean_session: \(cleanSession))"
    }
}
