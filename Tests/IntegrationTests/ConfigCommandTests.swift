import BinTestKit
import Foundation
@testable import SmartBinApp
import Testing

/// `smartbin config template` and `smartbin config check`.
@Suite struct ConfigCommandTests {
    /// The template with every `# key = value` line and `# [section]` header uncommented.
    static func uncommented(_ template: String) -> String {
        template.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.range(of: #"^# ([a-z_]+ = |\[)"#, options: .regularExpression) != nil { return String(line.dropFirst(2)) }
            return String(line)
        }.joined(separator: "\n")
    }

    @Test func deployTemplateIsWhatTheCommandPrints() throws {
        let run = try ToolRun.run(SmartBinChildProcess.binary, ["config", "template"])
        #expect(run.status == 0)
        let file = try String(contentsOfFile: SmartBinChildProcess.packageRoot + "/deploy/config.template.toml", encoding: .utf8)
        #expect(run.output == file, "deploy/config.template.toml is stale: regenerate it with `smartbin config template > deploy/config.template.toml`")
    }

    @Test func templateNamesEveryKeyAtItsDefault() throws {
        let template = ConfigTemplate.text()
        // All commented: parses to the defaults.
        let commented = try ConfigLoader.parse(template, file: "template")
        #expect(commented.bin.board == "generic" && !commented.flapAnglesFromConfig)
        // Uncommented: every key the loader knows is there, and the defaults do not change.
        let text = Self.uncommented(template)
        let config = try ConfigLoader.parse(text, file: "template-uncommented")
        let defaults = SmartBinConfig()
        #expect(config.bin.id == defaults.bin.id && config.bin.fleet == defaults.bin.fleet && config.bin.board == defaults.bin.board)
        #expect(config.model.threads == defaults.model.threads)
        #expect(config.mqtt.host == defaults.mqtt.host && config.mqtt.port == defaults.mqtt.port && config.mqtt.topicPrefix == defaults.mqtt.topicPrefix)
        #expect(config.mqtt.keepAliveSeconds == defaults.mqtt.keepAliveSeconds && config.mqtt.tls == defaults.mqtt.tls && config.mqtt.tlsVersion == defaults.mqtt.tlsVersion)
        #expect(config.mqtt.homeAssistantDiscovery == defaults.mqtt.homeAssistantDiscovery && config.mqtt.homeAssistantPrefix == defaults.mqtt.homeAssistantPrefix)
        var controller = config.controller
        // fill.capacity and fill.capacities have no default: the template shows an example.
        #expect(controller.fill.capacity != nil && !controller.fill.capacities.isEmpty)
        controller.fill.capacity = nil
        controller.fill.capacities = [:]
        #expect(controller == defaults.controller, "uncommented defaults differ from SmartBinConfig()'s")
        #expect(config.storage.outboxMaxMegabytes == defaults.storage.outboxMaxMegabytes && config.simulation.rate == defaults.simulation.rate)
        for (section, keys) in ConfigLoader.schema {
            #expect(text.contains("[\(section)]"), "template lacks [\(section)]")
            for key in keys {
                #expect(text.contains("\n\(key) = "), "template lacks \(section).\(key)")
            }
        }
        #expect(ConfigTemplate.text(board: "pi5").contains("\nboard = \"pi5\""))
    }

    @Test func checkNamesEachBadKeyWithItsLine() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let password = directory + "/password"
        try "secret\n".write(toFile: password, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: password)
        let file = directory + "/bad.toml"
        try """
            [bin]
            board = "pi9"
            [model]
            path = "\(directory)/missing.onnx"
            [mqtt]
            username = "bin"
            password_file = "\(password)"
            tls = true
            ca_file = "\(directory)/ca.crt"

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try ToolRun.run(SmartBinChildProcess.binary, ["config", "check", file])
        #expect(run.status == 1, "\(run.output)")
        #expect(run.output.contains("\(file):2: error: bin.board: board profile 'pi9' not found"), "\(run.output)")
        #expect(run.output.contains("\(file):4: error: model.path:"), "\(run.output)")
        #expect(run.output.contains("\(file):7: error: mqtt.password_file:") && run.output.contains("0644"), "\(run.output)")
        #expect(run.output.contains("\(file):9: error: mqtt.ca_file:"), "\(run.output)")
    }

    @Test func checkReportsSyntaxErrorsWithTheLine() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/typo.toml"
        try "[bin]\nid = \"a\"\nbord = \"pi5\"\n".write(toFile: file, atomically: true, encoding: .utf8)
        let run = try ToolRun.run(SmartBinChildProcess.binary, ["config", "check", file])
        #expect(run.status == 1)
        #expect(run.output.contains("\(file):3: error: bin.bord: unknown key 'bord' in [bin]"), "\(run.output)")
    }

    /// Issue 8: every bad key, each with its line, not only the first.
    @Test func checkNamesEveryBadKeyNotOnlyTheFirst() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/four.toml"
        let model = try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx")
        try """
            [bin]
            fleet = "north"
            bord = "pi5"
            [mqtt]
            port = "1883"
            keepalive_s = 30
            [routing]
            confidence_threshold = 1.5
            [timing]
            settle_ms = 300
            dwell_ms = true
            [model]
            path = "\(model)"

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try ToolRun.run(SmartBinChildProcess.binary, ["config", "check", file])
        #expect(run.status == 1, "\(run.output)")
        let expected = [
            "\(file):3: error: bin.bord: unknown key 'bord' in [bin]",
            "\(file):5: error: mqtt.port: must be an integer, not string",
            "\(file):8: error: routing.confidence_threshold: is 1.5; expected 0.0...1.0",
            "\(file):11: error: timing.dwell_ms: must be an integer, not bool",
        ]
        for line in expected {
            #expect(run.output.contains(line), "missing '\(line)' in:\n\(run.output)")
        }
        let errors = run.output.split(separator: "\n").filter { $0.contains(": error: ") }
        #expect(errors.count == 4, "\(run.output)")
        #expect(run.output.contains("\(file): 4 error(s)"), "\(run.output)")
        // In file order.
        let positions = expected.compactMap { run.output.range(of: $0)?.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test func checkAcceptsAGoodConfig() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx")
        let password = directory + "/password"
        try "secret\n".write(toFile: password, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: password)
        let file = directory + "/good.toml"
        try ConfigTemplate.text(board: "pi5").replacingOccurrences(of: "# path = \"/var/lib/smartbin/models/first.onnx\"", with: "path = \"\(model)\"")
            .replacingOccurrences(of: "# password_file = \"/etc/smartbin/mqtt.password\"", with: "password_file = \"\(password)\"")
            .replacingOccurrences(of: "# username = \"bin-1\"", with: "username = \"bin-1\"")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let run = try ToolRun.run(SmartBinChildProcess.binary, ["config", "check", file])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("\(file): ok"), "\(run.output)")
    }

    /// The profile checks its fill tables against its own `[servo.angles]`; with `[flap]` in the
    /// config the bin has other compartments, and `config check` names the mismatch.
    @Test func checkNamesFillHardwareOfACompartmentTheConfiguredFlapLacks() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let board = try String(contentsOfFile: SmartBinChildProcess.packageRoot + "/board/generic.toml", encoding: .utf8)
            + "\n[fill.sensors.paper]\ntrigger = 5\necho = 6\nempty_cm = 60\nfull_cm = 10\n[fill.buttons.other]\nline = 16\n"
        try board.write(toFile: directory + "/board.toml", atomically: true, encoding: .utf8)
        let file = directory + "/bin.toml"
        try "[bin]\nboard = \"\(directory)/board.toml\"\n[mqtt]\nhome_assistant_discovery = true\n[flap]\nangles = { other = 40, glass = 140 }\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let findings = ConfigCheck.check(path: file)
        let flap = findings.filter { $0.key == "flap.angles" }
        #expect(flap.count == 1, "\(findings)")
        #expect(flap.first?.severity == .error && flap.first?.line == 6)
        #expect(flap.first?.message.contains("[fill.sensors.paper] names no compartment of this bin (have: glass, other)") == true, "\(findings)")
        // A fill sensor exists, so Home Assistant gets sensors: no warning about that.
        #expect(!findings.contains { $0.key == "mqtt.home_assistant_discovery" }, "\(findings)")

        try "[mqtt]\nhome_assistant_discovery = true\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bare = ConfigCheck.check(path: file)
        #expect(bare.contains { $0.key == "mqtt.home_assistant_discovery" && $0.severity == .warning && $0.line == 2 }, "\(bare)")
    }
}
