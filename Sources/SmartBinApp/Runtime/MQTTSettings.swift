import Foundation
import Telemetry

/// Turns the `[mqtt]` config section into the client's configuration, reading the password from
/// its file (never from the command line; never logged).
enum MQTTSettings {
    static func configuration(_ config: SmartBinConfig) throws -> MQTTConfiguration {
        let m = config.mqtt
        var password: String?
        if let file = m.passwordFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw AppError("\(file): cannot read mqtt.password_file")
            }
            if let attributes = try? FileManager.default.attributesOfItem(atPath: file),
               let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
                FileHandle.standardError.write(Data("smartbin: warning: \(file) (mqtt.password_file) is readable by group or others; chmod 600 it\n".utf8))
            }
            password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var tls: MQTTConfiguration.TLS?
        if m.tls {
            tls = .init(caFile: m.caFile, certFile: m.certFile, keyFile: m.keyFile, version: m.tlsVersion)
        }
        return MQTTConfiguration(host: m.host, port: m.port, clientID: m.clientID ?? config.bin.id,
                                 username: m.username, password: password, keepAliveSeconds: m.keepAliveSeconds, tls: tls)
    }
}
