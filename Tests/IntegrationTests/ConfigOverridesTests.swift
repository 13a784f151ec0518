import Foundation
@testable import SmartBinApp
import Testing

/// The command line over the config file: every MQTT key the file has, the command line can set.
@Suite struct ConfigOverridesTests {
    static let file = """
        [bin]
        id = "file-bin"
        fleet = "file-fleet"
        [mqtt]
        host = "file.example"
        port = 1884
        client_id = "file-client"
        username = "file-user"
        password_file = "/etc/smartbin/file.password"
        topic_prefix = "filepfx"
        tls = true
        ca_file = "/etc/smartbin/file-ca.crt"
        cert_file = "/etc/smartbin/file.crt"
        key_file = "/etc/smartbin/file.key"
        tls_version = "tlsv1.3"

        """

    @Test func everyOverrideWinsOverTheFile() throws {
        var config = try ConfigLoader.parse(Self.file, file: "bin.toml")
        var overrides = ConfigOverrides()
        overrides.broker = "127.0.0.1:2883"
        overrides.binID = "cli-bin"
        overrides.fleet = "cli-fleet"
        overrides.clientID = "cli-client"
        overrides.username = "cli-user"
        overrides.passwordFile = "/run/cli.password"
        overrides.tls = false
        overrides.caFile = "/run/cli-ca.crt"
        overrides.certFile = "/run/cli.crt"
        overrides.keyFile = "/run/cli.key"
        overrides.tlsVersion = "tlsv1.2"
        overrides.topicPrefix = "clipfx"
        try overrides.apply(to: &config)
        let m = config.mqtt
        #expect(m.host == "127.0.0.1" && m.port == 2883)
        #expect(config.bin.id == "cli-bin" && config.bin.fleet == "cli-fleet")
        #expect(m.clientID == "cli-client" && m.username == "cli-user" && m.passwordFile == "/run/cli.password")
        #expect(!m.tls && m.caFile == "/run/cli-ca.crt" && m.certFile == "/run/cli.crt" && m.keyFile == "/run/cli.key")
        #expect(m.tlsVersion == "tlsv1.2" && m.topicPrefix == "clipfx")
    }

    @Test func absentOverridesLeaveTheFileAlone() throws {
        let parsed = try ConfigLoader.parse(Self.file, file: "bin.toml")
        var config = parsed
        try ConfigOverrides().apply(to: &config)
        let m = config.mqtt
        #expect(m.host == "file.example" && m.port == 1884 && m.clientID == "file-client" && m.username == "file-user")
        #expect(m.passwordFile == "/etc/smartbin/file.password" && m.topicPrefix == "filepfx")
        #expect(m.tls && m.caFile == "/etc/smartbin/file-ca.crt" && m.certFile == "/etc/smartbin/file.crt")
        #expect(m.keyFile == "/etc/smartbin/file.key" && m.tlsVersion == "tlsv1.3")
        // --tls turns TLS on over a file without it.
        var plain = try ConfigLoader.parse("", file: "empty.toml")
        var overrides = ConfigOverrides()
        overrides.tls = true
        try overrides.apply(to: &plain)
        #expect(plain.mqtt.tls)
    }

    @Test(arguments: [
        ("tlsVersion", "tlsv1.1", "--tls-version 'tlsv1.1'"),
        ("topicPrefix", "a/#", "--topic-prefix 'a/#'"),
        ("topicPrefix", "/lead", "--topic-prefix '/lead'"),
        ("clientID", "", "--client-id"),
        ("broker", "nohost", "--broker 'nohost'"),
        ("fleet", "a b", "--fleet 'a b'"),
    ])
    func malformedOverrideNamesTheOption(field: String, value: String, mentions: String) {
        var overrides = ConfigOverrides()
        switch field {
        case "tlsVersion": overrides.tlsVersion = value
        case "topicPrefix": overrides.topicPrefix = value
        case "clientID": overrides.clientID = value
        case "broker": overrides.broker = value
        default: overrides.fleet = value
        }
        var config = SmartBinConfig()
        let error = #expect(throws: AppError.self) { try overrides.apply(to: &config) }
        #expect(error?.message.hasPrefix(mentions) == true, "\(error?.message ?? "")")
    }
}
