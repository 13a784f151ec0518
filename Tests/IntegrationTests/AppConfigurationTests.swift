import BinCore
import Foundation
@testable import SmartBinApp
import Testing

@Suite struct ConfigLoaderTests {
    @Test func defaultsNeedNoFile() throws {
        let config = try ConfigLoader.parse("", file: "empty.toml")
        #expect(config.mqtt.host == "127.0.0.1" && config.mqtt.port == 1883)
        #expect(config.bin.id == "bin-1" && config.controller.routing.fallbackBin == "other")
    }

    @Test func homeAssistantDiscoveryIsOffByDefaultAndItsPrefixIsRead() throws {
        let defaults = try ConfigLoader.parse("", file: "empty.toml")
        #expect(!defaults.mqtt.homeAssistantDiscovery && defaults.mqtt.homeAssistantPrefix == "homeassistant")
        let config = try ConfigLoader.parse("[mqtt]\nhome_assistant_discovery = true\nhome_assistant_prefix = \"ha\"\n", file: "bin.toml")
        #expect(config.mqtt.homeAssistantDiscovery && config.mqtt.homeAssistantPrefix == "ha")
    }

    @Test func everySectionIsRead() throws {
        let config = try ConfigLoader.parse("""
        [bin]
        id = "street-12"
        fleet = "north"
        [mqtt]
        host = "broker.local"
        port = 8883
        tls = true
        ca_file = "/etc/smartbin/ca.pem"
        [routing]
        confidence_threshold = 0.75
        fallback_bin = "other"
        [timing]
        debounce_ms = 80
        [flap]
        home_deg = 10
        angles = { recyclable = 40, other = 140 }
        """, file: "bin.toml")
        #expect(config.bin.id == "street-12" && config.bin.fleet == "north")
        #expect(config.mqtt.port == 8883 && config.mqtt.tls && config.mqtt.caFile == "/etc/smartbin/ca.pem")
        #expect(config.controller.routing.confidenceThreshold == 0.75)
        #expect(config.controller.timing.debounce == .milliseconds(80))
        #expect(config.controller.flap.homeDegrees == 10 && config.controller.flap.angles == ["recyclable": 40, "other": 140])
    }

    @Test(arguments: [
        ("[mqtt]\nhots = \"x\"\n", "bin.toml:2", "hots"),
        ("[bin]\nid = \"a\"\n[mqtt]\nport = \"1883\"\n", "bin.toml:4", "mqtt.port"),
        ("[mqtt]\nport = 70000\n", "bin.toml:2", "mqtt.port"),
        ("[nonsense]\nx = 1\n", "bin.toml:1", "nonsense"),
        ("[bin]\nid = \"a/b\"\n", "bin.toml:2", "bin.id"),
        ("[bin\nid = 1\n", "bin.toml:1", "]"),
        ("[routing]\nconfidence_threshold = 1.5\n", "bin.toml:2", "confidence_threshold"),
        ("[mqtt]\nhome_assistant_discovery = \"yes\"\n", "bin.toml:2", "mqtt.home_assistant_discovery"),
        ("[mqtt]\nhome_assistant_prefix = \"ha/#\"\n", "bin.toml:2", "mqtt.home_assistant_prefix"),
    ])
    func badConfigNamesFileLineAndKey(text: String, location: String, key: String) {
        let error = #expect(throws: AppError.self) { try ConfigLoader.parse(text, file: "bin.toml") }
        let message = error?.message ?? ""
        #expect(message.hasPrefix(location) && message.contains(key), "\(message)")
    }

    @Test func everyBadKeyIsCollectedWithItsLine() throws {
        let text = "[bin]\nid = \"a b\"\n[mqtt]\nport = 0\ntls = \"yes\"\n[model]\npreset = \"tf\"\n[nonsense]\nx = 1\n"
        let (config, problems) = ConfigLoader.analyse(text, file: "bin.toml")
        #expect(config != nil)
        #expect(problems.map(\.line) == [2, 4, 5, 7, 8], "\(problems)")
        #expect(problems.map(\.key) == ["bin.id", "mqtt.port", "mqtt.tls", "model.preset", "[nonsense]"], "\(problems)")
        #expect(problems.allSatisfy { $0.file == "bin.toml" && !$0.message.isEmpty })
        // `run` and `simulate` stop on the first, on one line that names the others' count.
        let error = #expect(throws: AppError.self) { try ConfigLoader.parse(text, file: "bin.toml") }
        let message = error?.message ?? ""
        #expect(message.hasPrefix("bin.toml:2: bin.id: 'a b' must be non-empty") && message.contains("4 more problem(s)"), "\(message)")
        #expect(!message.contains("\n"))
    }
}

@Suite struct EvaluationTests {
    @Test func errorsPrecisionAndRecallFollowTheConfusionMatrix() {
        var evaluation = Evaluation(labels: ["glass", "metal", "paper"])
        evaluation.add(truth: 0, ranking: [0, 1, 2])
        evaluation.add(truth: 0, ranking: [1, 0, 2])
        evaluation.add(truth: 1, ranking: [1, 2, 0])
        evaluation.add(truth: 2, ranking: [1, 0, 2])
        #expect(evaluation.total == 4)
        #expect(abs(evaluation.top1Error - 0.5) < 1e-12)
        #expect(evaluation.top5Error == 0)
        #expect(evaluation.confusion == [[1, 1, 0], [0, 1, 0], [0, 1, 0]])
        #expect(evaluation.precision(1) == 1.0 / 3.0)
        #expect(evaluation.recall(0) == 0.5)
        #expect(evaluation.precision(2) == nil)
        #expect(evaluation.svg.hasPrefix("<svg") && evaluation.svg.contains(">glass</text>"))
        #expect(evaluation.report.contains("top-1 error 50.0%"))
    }
}
