/// Command-line values that replace config-file ones (`run`, `simulate` and `doctor` share them).
/// Each is nil when not given; `apply(to:)` sets only the given ones. The MQTT password is never
/// one of them: only the path of a file holding it (`passwordFile`), as in the config.
public struct ConfigOverrides: Sendable {
    /// `HOST:PORT`: `mqtt.host` and `mqtt.port`.
    public var broker: String?
    public var binID: String?
    public var fleet: String?
    public var model: String?
    public var labels: String?
    public var threads: Int?
    public var dataDirectory: String?
    /// `mqtt.client_id`.
    public var clientID: String?
    /// `mqtt.username`.
    public var username: String?
    /// `mqtt.password_file`.
    public var passwordFile: String?
    /// `mqtt.tls` (true or false; nil leaves the config's).
    public var tls: Bool?
    /// `mqtt.ca_file`, `mqtt.cert_file`, `mqtt.key_file`.
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// `mqtt.tls_version`: `tlsv1.2` or `tlsv1.3`.
    public var tlsVersion: String?
    /// `mqtt.topic_prefix`.
    public var topicPrefix: String?

    public init() {}

    /// Sets the given values on `config`.
    /// - Throws: `AppError` naming the option whose value is malformed.
    public func apply(to config: inout SmartBinConfig) throws {
        if let broker {
            guard let colon = broker.lastIndex(of: ":"), let port = Int(broker[broker.index(after: colon)...]),
                  (1...65535).contains(port), colon != broker.startIndex else {
                throw AppError("--broker '\(broker)' must be HOST:PORT, e.g. 127.0.0.1:1883")
            }
            config.mqtt.host = String(broker[..<colon])
            config.mqtt.port = port
        }
        if let binID { config.bin.id = binID }
        if let fleet { config.bin.fleet = fleet }
        if let model { config.model.path = model }
        if let labels { config.model.labels = labels }
        if let threads { config.model.threads = max(1, threads) }
        if let dataDirectory { config.storage.dataDirectory = dataDirectory }
        if let clientID {
            guard !clientID.isEmpty else { throw AppError("--client-id must not be empty") }
            config.mqtt.clientID = clientID
        }
        if let username { config.mqtt.username = username }
        if let passwordFile { config.mqtt.passwordFile = passwordFile }
        if let tls { config.mqtt.tls = tls }
        if let caFile { config.mqtt.caFile = caFile }
        if let certFile { config.mqtt.certFile = certFile }
        if let keyFile { config.mqtt.keyFile = keyFile }
        if let tlsVersion {
            guard ["tlsv1.2", "tlsv1.3"].contains(tlsVersion) else {
                throw AppError("--tls-version '\(tlsVersion)' must be tlsv1.2 or tlsv1.3")
            }
            config.mqtt.tlsVersion = tlsVersion
        }
        if let topicPrefix {
            guard !topicPrefix.isEmpty, !topicPrefix.hasPrefix("/"), !topicPrefix.hasSuffix("/"),
                  !topicPrefix.contains(where: { "#+".contains($0) }) else {
                throw AppError("--topic-prefix '\(topicPrefix)' must be a topic prefix without '#', '+' or a leading or trailing '/'")
            }
            config.mqtt.topicPrefix = topicPrefix
        }
        for (name, value) in [("--bin-id", config.bin.id), ("--fleet", config.bin.fleet)] where value.isEmpty || value.contains(where: { "/#+ ".contains($0) }) {
            throw AppError("\(name) '\(value)' must be non-empty without '/', '#', '+' or spaces (it is part of MQTT topics)")
        }
    }
}
