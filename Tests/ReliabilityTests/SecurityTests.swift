import BinTestKit
import Foundation
import Logging
import Telemetry
import Testing

/// "Nobody let in": the shipped broker configs (`deploy/mosquitto/`) with certificates made in
/// the test by `tools/make_certs.sh` (openssl): certificate login, ACL isolation between bins,
/// the password-file variant, and no password in any log.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SecurityTests {
    let pki: String
    let rogue: String
    let root: String

    init() throws {
        root = try Reliability.temporaryDirectory("pki")
        pki = root + "/pki"
        rogue = root + "/rogue"
        try Self.run("/bin/bash", [Reliability.packageRoot + "/tools/make_certs.sh", pki, "bin-a", "bin-b", "dashboard"])
        // Another CA issuing a certificate with a valid-looking CN.
        try Self.run("/bin/bash", [Reliability.packageRoot + "/tools/make_certs.sh", rogue, "bin-a"],
                     environment: ["CA_NAME": "Rogue CA"])
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BrokerHarnessError("\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }

    /// A broker running `deploy/mosquitto/<file>` with the test's port and paths.
    func broker(_ file: String, passwordFile: String? = nil, environment: [String: String] = [:]) async throws -> MosquittoBroker {
        let broker = try MosquittoBroker()
        broker.environment = environment
        var config = try String(contentsOfFile: Reliability.packageRoot + "/deploy/mosquitto/" + file, encoding: .utf8)
        let replacements = [
            "listener 8883": "listener \(broker.port) 127.0.0.1",
            "/etc/mosquitto/ca_certificates/smartbin-ca.crt": pki + "/ca.crt",
            "/etc/mosquitto/certs/broker.crt": pki + "/broker.crt",
            "/etc/mosquitto/certs/broker.key": pki + "/broker.key",
            "/etc/mosquitto/smartbin.acl": Reliability.packageRoot + "/deploy/mosquitto/smartbin.acl",
            "/etc/mosquitto/smartbin.passwd": passwordFile ?? "/nonexistent",
            "persistence true": "persistence false",
        ]
        for (from, to) in replacements {
            #expect(config.contains(from) || from.hasSuffix("passwd"), "\(file) no longer has '\(from)'")
            config = config.replacingOccurrences(of: from, with: to)
        }
        config += "\nlog_dest stderr\nlog_type all\n" + (getuid() == 0 ? "user root\n" : "")
        try config.write(to: broker.configURL, atomically: true, encoding: .utf8)
        try await broker.start(timeout: .seconds(20))
        return broker
    }

    func tls(_ name: String, in dir: String? = nil) -> MQTTConfiguration.TLS {
        let dir = dir ?? pki
        return .init(caFile: pki + "/ca.crt", certFile: dir + "/\(name).crt", keyFile: dir + "/\(name).key")
    }

    func client(_ port: Int, id: String, tls: MQTTConfiguration.TLS?, username: String? = nil, password: String? = nil,
                logger: Logger = Logger(label: "test.mqtt")) throws -> MQTTClient {
        try MQTTClient(configuration: MQTTConfiguration(host: "127.0.0.1", port: port, clientID: id, username: username,
                                                        password: password, cleanSession: true, tls: tls,
                                                        reconnectDelayMin: 1, reconnectDelayMax: 1),
                       logger: logger)
    }

    /// `mosquitto_sub` over TLS with the dashboard's certificate (an independent client).
    final class Dashboard {
        let process = Process()
        let output: String
        init(port: Int, pki: String, directory: String) throws {
            output = directory + "/dashboard-\(UUID().uuidString.prefix(6)).txt"
            FileManager.default.createFile(atPath: output, contents: nil)
            process.executableURL = URL(fileURLWithPath: BrokerSubscriber.subExecutable)
            process.arguments = ["-h", "127.0.0.1", "-p", "\(port)", "--cafile", pki + "/ca.crt", "--cert", pki + "/dashboard.crt",
                                 "--key", pki + "/dashboard.key", "-q", "1", "-t", "smartbin/#", "-F", "%t %p"]
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            process.standardError = FileHandle.nullDevice
            try process.run()
        }
        var lines: [String] {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        func waitFor(_ line: String, timeout: Duration = .seconds(10)) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if lines.contains(line) { return true }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
        // SIGKILL: Foundation's Process starts children with SIGTERM blocked (see BinTestKit's
        // BrokerChildProcess), so terminate() would leave mosquitto_sub running.
        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    @Test func certificateLoginAndACLIsolation() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let broker = try await broker("smartbin-tls.conf")
        defer { Task { await broker.stop() } }
        let dashboard = try Dashboard(port: broker.port, pki: pki, directory: root)

        // bin-a with its certificate: connects, publishes under its own id.
        let binA = try client(broker.port, id: "bin-a", tls: tls("bin-a"))
        try binA.connect()
        #expect(await binA.waitUntilConnected(timeout: .seconds(10)), "bin-a not connected; broker log:\n\(broker.log.suffix(2000))")
        // The dashboard may still be connecting: repeat a probe until it sees one.
        var probes = 0
        while probes < 50 {
            probes += 1
            try await binA.publish(topic: "smartbin/fleet/bin-a/event", payload: Array("probe-\(probes)".utf8))
            if await dashboard.waitFor("smartbin/fleet/bin-a/event probe-\(probes)", timeout: .milliseconds(200)) { break }
        }
        #expect(probes < 50, "the dashboard never saw bin-a's own events")

        // bin-a forging bin-b's event: acknowledged (MQTT 3.1.1) but dropped by the broker.
        try await binA.publish(topic: "smartbin/fleet/bin-b/event", payload: Array("forged-by-a".utf8))
        try await binA.publish(topic: "smartbin/fleet/bin-a/event", payload: Array("after-forgery".utf8))
        #expect(await dashboard.waitFor("smartbin/fleet/bin-a/event after-forgery"))
        try await Task.sleep(for: .milliseconds(300))
        #expect(!dashboard.lines.contains { $0.contains("forged-by-a") }, "the broker let bin-a publish as bin-b")
        #expect(broker.log.contains("Denied PUBLISH from bin-a"), "broker log:\n\(broker.log.suffix(1500))")

        // bin-b cannot read bin-a's commands; bin-a can.
        let binB = try client(broker.port, id: "bin-b", tls: tls("bin-b"))
        try binB.connect()
        #expect(await binB.waitUntilConnected(timeout: .seconds(10)))
        let spy = try binB.subscribe("smartbin/fleet/bin-a/cmd/#")
        let own = try binA.subscribe("smartbin/fleet/bin-a/cmd/#")
        try await Task.sleep(for: .milliseconds(200))
        try await binA.publish(topic: "smartbin/fleet/bin-a/cmd/maintenance", payload: Array("{\"enabled\":true}".utf8))
        let ownGot = await Self.first(own, within: .seconds(5))
        let spyGot = await Self.first(spy, within: .milliseconds(500))
        #expect(ownGot != nil, "bin-a did not receive its own command")
        #expect(spyGot == nil, "bin-b read bin-a's command: \(String(describing: spyGot))")

        // A certificate from another CA (same CN) and no certificate at all: refused at the TLS handshake.
        let impostor = try client(broker.port, id: "bin-a-impostor", tls: tls("bin-a", in: rogue))
        try impostor.connect()
        #expect(await !impostor.waitUntilConnected(timeout: .seconds(3)), "a certificate from another CA was accepted")
        let anonymous = try client(broker.port, id: "anon", tls: .init(caFile: pki + "/ca.crt"))
        try anonymous.connect()
        #expect(await !anonymous.waitUntilConnected(timeout: .seconds(2)), "a client without a certificate was accepted")
        for client in [binA, binB, impostor, anonymous] { await client.disconnect(clean: true, timeout: .seconds(1)) }
        print("security: TLS client certs: bin-a connected and published; rogue-CA cert and no cert refused; bin-a → bin-b topic dropped (broker: Denied PUBLISH); bin-b could not read bin-a's commands")
    }

    static func first(_ stream: AsyncStream<MQTTClient.Message>, within limit: Duration) async -> MQTTClient.Message? {
        await withTaskGroup(of: MQTTClient.Message?.self) { group in
            group.addTask { for await message in stream { return message }; return nil }
            group.addTask { try? await Task.sleep(for: limit); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// The firmware itself over TLS: `smartbin simulate` with `mqtt.tls`, `ca_file`,
    /// `cert_file`, `key_file`; the dashboard receives its events.
    @Test func firmwarePublishesOverTLSWithItsCertificate() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let broker = try await broker("smartbin-tls.conf")
        defer { Task { await broker.stop() } }
        let dashboard = try Dashboard(port: broker.port, pki: pki, directory: root)
        try await Task.sleep(for: .milliseconds(300))
        let config = Reliability.fastConfig + """
            [mqtt]
            tls = true
            ca_file = "\(pki)/ca.crt"
            cert_file = "\(pki)/bin-a.crt"
            key_file = "\(pki)/bin-a.key"
            """
        try config.write(toFile: root + "/tls.toml", atomically: true, encoding: .utf8)
        let bin = try SmartBinChildProcess(["simulate", "--config", root + "/tls.toml", "--broker", "127.0.0.1:\(broker.port)",
                                     "--bin-id", "bin-a", "--model", try Reliability.model("tiny-v1.5-torch-6.onnx"),
                                     "--items", "3", "--rate", "50", "--data-dir", root + "/data"], directory: root)
        #expect(await bin.wait(timeout: .seconds(60)) == 0, "\(bin.output.suffix(2000))\nbroker:\n\(broker.log.suffix(1500))")
        #expect(!bin.output.contains("kept in the outbox"),
                "events not acknowledged over TLS:\n\(bin.output.suffix(2000))\nbroker:\n\(broker.log.suffix(2000))")
        let deadline = ContinuousClock.now + .seconds(10)
        while dashboard.lines.filter({ $0.hasPrefix("smartbin/default/bin-a/event ") }).count < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(dashboard.lines.filter { $0.hasPrefix("smartbin/default/bin-a/event ") }.count == 3)
        #expect(dashboard.lines.contains("smartbin/default/bin-a/available stopped"))
    }

    /// `smartbin-passwd.conf`: username + password (hashed by `mosquitto_passwd`) over TLS. The
    /// right password connects and publishes, a wrong one is refused, and the password appears
    /// in no log line: not the client's, not the firmware's output, not the config's description.
    @Test func passwordFileVariantAndThePasswordIsNeverLogged() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let secret = "Tr0ub4dor-\(UUID().uuidString.prefix(8))"
        let passwd = root + "/smartbin.passwd"
        try Self.run("/usr/bin/mosquitto_passwd", ["-c", "-b", passwd, "bin-a", secret])
        try Self.run("/usr/bin/mosquitto_passwd", ["-b", passwd, "dashboard", "dash-\(secret)"])
        #expect(!(try String(contentsOfFile: passwd, encoding: .utf8)).contains(secret), "password file is not hashed")
        let broker = try await broker("smartbin-passwd.conf", passwordFile: passwd)
        defer { Task { await broker.stop() } }
        let server = MQTTConfiguration.TLS(caFile: pki + "/ca.crt")

        let capture = LogCapture()
        let good = try client(broker.port, id: "bin-a", tls: server, username: "bin-a", password: secret,
                              logger: capture.logger())
        try good.connect()
        #expect(await good.waitUntilConnected(timeout: .seconds(10)), "broker log:\n\(broker.log.suffix(1500))")
        try await good.publish(topic: "smartbin/fleet/bin-a/event", payload: Array("ok".utf8))

        let bad = try client(broker.port, id: "bin-a-bad", tls: server, username: "bin-a", password: "wrong-\(secret)",
                             logger: capture.logger())
        let events = bad.connectionEvents()
        try bad.connect()
        // The first CONNACK decides (bounded: a TLS failure under load would only disconnect).
        let refused: String? = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                for await event in events {
                    if case .refused(let reason) = event { return reason }
                    if case .connected = event { return nil }
                }
                return nil
            }
            group.addTask { try? await Task.sleep(for: .seconds(20)); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(refused != nil, "a wrong password was accepted")
        #expect(!bad.isConnected)
        for client in [good, bad] { await client.disconnect(clean: true, timeout: .seconds(1)) }

        // The firmware with `mqtt.password_file` (mode 600).
        let secretFile = root + "/mqtt.secret"
        try (secret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secretFile)
        let config = Reliability.fastConfig + """
            [mqtt]
            username = "bin-a"
            password_file = "\(secretFile)"
            tls = true
            ca_file = "\(pki)/ca.crt"
            """
        try config.write(toFile: root + "/pw.toml", atomically: true, encoding: .utf8)
        let bin = try SmartBinChildProcess(["simulate", "--config", root + "/pw.toml", "--broker", "127.0.0.1:\(broker.port)",
                                     "--bin-id", "bin-a", "--model", try Reliability.model("tiny-v1.5-torch-6.onnx"),
                                     "--items", "2", "--rate", "50", "--data-dir", root + "/data"], directory: root,
                                    environment: ["SMARTBIN_LOG_LEVEL": "trace"])
        #expect(await bin.wait(timeout: .seconds(60)) == 0, "\(bin.output.suffix(2000))")
        #expect(!bin.output.contains("kept in the outbox"), "\(bin.output.suffix(2000))")

        let description = MQTTConfiguration(clientID: "bin-a", username: "bin-a", password: secret).description
        for (name, text) in [("client log", capture.text), ("firmware output", bin.output), ("description", description)] {
            #expect(!text.contains(secret), "the password appears in the \(name)")
        }
        #expect(description.contains("<redacted>"))
        print("security: password file: right password connected, wrong refused (\(refused ?? "-")); password in none of \(capture.lines.count) client log lines, \(bin.output.split(separator: "\n").count) firmware lines, description")
    }

    /// A file holding `text` with `mode` (as an operator might leave it).
    func secretFile(_ name: String, _ text: String, mode: Int) throws -> String {
        let path = root + "/" + name
        try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    /// A password file group or others can read is refused by `simulate` (so by `run`: both
    /// build the MQTT settings the same way) and by the dashboard: exit 1, one error line that
    /// names the file, its mode and the fix, before any model is loaded or broker contacted.
    @Test func passwordFileReadableByOthersIsRefusedByFirmwareAndDashboard() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let secret = "Tr0ub4dor-\(UUID().uuidString.prefix(8))"
        let open = try secretFile("open.secret", secret, mode: 0o644)
        let group = try secretFile("group.secret", secret, mode: 0o640)
        let config = Reliability.fastConfig + """
            [mqtt]
            username = "bin-a"
            password_file = "\(group)"
            """
        try config.write(toFile: root + "/open.toml", atomically: true, encoding: .utf8)
        let bin = try SmartBinChildProcess(["simulate", "--config", root + "/open.toml", "--broker", "127.0.0.1:1",
                                            "--bin-id", "bin-a", "--model", try Reliability.model("tiny-v1.5-torch-6.onnx"),
                                            "--items", "1", "--data-dir", root + "/data"], directory: root)
        #expect(await bin.wait(timeout: .seconds(60)) == 1, "\(bin.output.suffix(2000))")
        let binErrors = bin.output.split(separator: "\n").map(String.init).filter { $0.contains("error") }
        #expect(!bin.output.contains("sha256"), "the model was loaded before the refusal: \(bin.output.suffix(2000))")
        #expect(binErrors == ["smartbin: error: \(group) (mqtt.password_file) has mode 0640: group or others have access to it, so it is refused: chmod 600 \(group) and make the user the service runs as its owner"],
                "\(bin.output.suffix(2000))")

        let dashboard = try SmartBinChildProcess(["--broker", "127.0.0.1:1", "--http", "127.0.0.1:0", "--db", root + "/d.sqlite",
                                                  "--username", "dashboard", "--password-file", open], directory: root,
                                                 executable: SmartBinChildProcess.dashboardBinary)
        let status = await dashboard.wait(timeout: .seconds(30))
        #expect(status != nil && status != 0, "\(dashboard.output.suffix(2000))")
        let dashboardLines = dashboard.output.split(separator: "\n").map(String.init)
        #expect(dashboardLines.count == 1 && dashboardLines[0].contains("\(open) (--password-file) has mode 0644")
                && dashboardLines[0].contains("chmod 600 \(open)"), "\(dashboard.output.suffix(2000))")
        for text in [bin.output, dashboard.output] { #expect(!text.contains(secret)) }
        #expect(!FileManager.default.fileExists(atPath: root + "/d.sqlite"), "the dashboard went on past the refusal")
    }

    /// The dashboard with a 0600 password file over TLS, with `--tls-version` reaching
    /// libmosquitto: against a broker whose OpenSSL stops at TLS 1.2, `--tls-version tlsv1.2`
    /// logs in as `dashboard`; `--tls-version tlsv1.3` fails the handshake.
    @Test func dashboardLogsInWithAnOwnerOnlyPasswordFileAndHonoursTLSVersion() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let secret = "dash-\(UUID().uuidString.prefix(8))"
        let passwd = root + "/smartbin.passwd"
        try Self.run("/usr/bin/mosquitto_passwd", ["-c", "-b", passwd, "dashboard", secret])
        let openssl = root + "/tls12-only.cnf"
        try """
            openssl_conf = openssl_init
            [openssl_init]
            ssl_conf = ssl_sect
            [ssl_sect]
            system_default = system_default_sect
            [system_default_sect]
            MinProtocol = TLSv1.2
            MaxProtocol = TLSv1.2
            """.write(toFile: openssl, atomically: true, encoding: .utf8)
        let broker = try await broker("smartbin-passwd.conf", passwordFile: passwd, environment: ["OPENSSL_CONF": openssl])
        defer { Task { await broker.stop() } }
        let password = try secretFile("dashboard.secret", secret, mode: 0o600)

        func dashboard(_ version: String, id: String) throws -> SmartBinChildProcess {
            try SmartBinChildProcess(["--broker", "127.0.0.1:\(broker.port)", "--http", "127.0.0.1:0", "--db", root + "/\(id).sqlite",
                                      "--client-id", id, "--username", "dashboard", "--password-file", password,
                                      "--ca-file", pki + "/ca.crt", "--tls-version", version], directory: root,
                                     executable: SmartBinChildProcess.dashboardBinary)
        }
        /// Waits for a broker log line holding every one of `parts`.
        func brokerSaw(_ parts: String...) async -> Bool {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if broker.log.split(separator: "\n").contains(where: { line in parts.allSatisfy { line.contains($0) } }) { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return false
        }

        let tls12 = try dashboard("tlsv1.2", id: "dash-tls12")
        #expect(await tls12.waitForOutput("listening on http://", timeout: .seconds(30)), "\(tls12.output.suffix(2000))")
        #expect(await brokerSaw("New client connected", "as dash-tls12 (", "u'dashboard'"), "broker log:\n\(broker.log.suffix(2000))")
        tls12.signal(SIGTERM)
        #expect(await tls12.wait(timeout: .seconds(20)) == 0, "\(tls12.output.suffix(2000))")

        let tls13 = try dashboard("tlsv1.3", id: "dash-tls13")
        #expect(await brokerSaw("unsupported protocol"), "broker log:\n\(broker.log.suffix(2000))")
        #expect(!broker.log.contains("as dash-tls13"), "a TLS 1.3-only client got through a TLS 1.2 broker")
        tls13.signal(SIGTERM)
        _ = await tls13.wait(timeout: .seconds(20))
        for text in [tls12.output, tls13.output, broker.log] { #expect(!text.contains(secret)) }
        print("security: dashboard password file 0600 accepted; --tls-version tlsv1.2 connected, tlsv1.3 refused by a TLS 1.2 broker")
    }
}
