import Foundation
import Telemetry

/// Turns the `[mqtt]` config section into the client's configuration, reading the password from
/// its file (never from the command line; never logged). A password file that group or others
/// may read is refused (`SecretFile`), as the dashboard refuses its `--password-file`.
enum MQTTSettings {
    static func configuration(_ config: SmartBinConfig) throws -> MQTTConfiguration {
        let m = config.mqtt
        var password: String?
        if let file = m.passwordFile {
            do { password = try SecretFile.read(file, what: "mqtt.password_file") } catch { throw AppError(error.message) }
        }
        var tls: MQTTConfiguration.TLS?
        if m.tls {
            tls = .init(caFile: m.caFile, certFile: m.certFile, keyFile: m.keyFile, version: m.tlsVersion)
        }
        return MQTTConfiguration(host: m.host, port: m.port, clientID: m.clientID ?? config.bin.id,
                                 username: m.username, password: password, keepAliveSeconds: m.keepAliveSeconds, tls: tls)
    }
}
