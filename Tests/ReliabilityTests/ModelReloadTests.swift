import BinTestKit
import Foundation
import Testing

/// `cmd/reload_model` end to end: the running `smartbin simulate`, a real broker, commands sent
/// with `mosquitto_pub`, results and events read with `mosquitto_sub`.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ModelReloadTests {
    @Test func badModelIsRefusedAndTheOldOneKeepsRunningThenAGoodOneIsSwappedIn() async throws {
        let directory = try Reliability.temporaryDirectory("reload")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Reliability.fastConfig.write(toFile: directory + "/fast.toml", atomically: true, encoding: .utf8)
        let models = directory + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        let modelPath = models + "/bin.onnx"
        try FileManager.default.copyItem(atPath: try Reliability.model("tiny-v1.5-torch-6.onnx"), toPath: modelPath)
        let original = try Data(contentsOf: URL(fileURLWithPath: modelPath))

        let broker = try await MosquittoBroker.start(timeout: .seconds(20))
        defer { Task { await broker.stop() } }
        let base = "smartbin/default/bin-r1"
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [base + "/#"], timeout: .seconds(20))
        defer { Task { await subscriber.stop() } }
        let bin = try SmartBinChildProcess(["simulate", "--config", directory + "/fast.toml", "--broker", "127.0.0.1:\(broker.port)",
                                     "--bin-id", "bin-r1", "--model", modelPath, "--rate", "20",
                                     "--data-dir", directory + "/data"], directory: directory)
        defer { bin.signal(SIGKILL) }
        #expect(await subscriber.waitForMessages(count: 2, topic: base + "/event", timeout: .seconds(30)).count >= 2,
                "no events:\n\(bin.output)")
        func lastEventModel() -> String? {
            let events = subscriber.messages.filter { $0.topic == base + "/event" }.compactMap { Reliability.parseJSON($0.payload) }
            return (events.last?["model"] as? [String: Any])?["sha256"] as? String
        }
        let oldSHA = try #require(lastEventModel())

        func command(_ payload: String, _ id: String) async throws -> [String: Any] {
            try await BrokerSubscriber.publish(port: broker.port, topic: base + "/cmd/reload_model", payload: payload)
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                for message in subscriber.messages where message.topic == base + "/cmd/reload_model/result" {
                    if let json = Reliability.parseJSON(message.payload), json["request_id"] as? String == id { return json }
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            Issue.record("no result for \(id):\n\(bin.output.suffix(2000))")
            return [:]
        }

        // 1. The file is replaced by garbage (a botched copy): refused, the old model stays.
        try Data("this is not an onnx model".utf8).write(to: URL(fileURLWithPath: modelPath))
        var result = try await command(#"{"request_id":"bad-1"}"#, "bad-1")
        #expect(result["ok"] as? Bool == false)
        #expect((result["error"] as? String)?.contains(modelPath) == true, "\(result)")
        #expect((result["error"] as? String)?.contains("still running") == true, "\(result)")
        // 2. Truncated to half (an interrupted download).
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: modelPath))
        result = try await command(#"{"request_id":"bad-2"}"#, "bad-2")
        #expect(result["ok"] as? Bool == false, "\(result)")
        // 3. A path outside the model directory is refused before anything is read.
        result = try await command(#"{"request_id":"bad-3","path":"/etc/passwd"}"#, "bad-3")
        #expect(result["code"] as? String == "invalid", "\(result)")

        // The bin kept classifying with the old model.
        let count = subscriber.messages.filter { $0.topic == base + "/event" }.count
        _ = await subscriber.waitForMessages(count: count + 2, topic: base + "/event", timeout: .seconds(10))
        #expect(lastEventModel() == oldSHA)

        // A good model next to the configured one: swapped in, later events carry its sha256.
        func swapIn(_ path: String, _ id: String, replacing previous: String) async throws -> String {
            let result = try await command(#"{"request_id":"\#(id)","path":"\#(path)"}"#, id)
            #expect(result["ok"] as? Bool == true, "\(result)")
            let sha = try #require((result["model"] as? [String: Any])?["sha256"] as? String)
            #expect(sha != previous)
            let later = subscriber.messages.filter { $0.topic == base + "/event" }.count
            _ = await subscriber.waitForMessages(count: later + 3, topic: base + "/event", timeout: .seconds(10))
            #expect(lastEventModel() == sha)
            return sha
        }

        // 4. An .onnx.
        let newPath = models + "/bin-v2.onnx"
        try FileManager.default.copyItem(atPath: try Reliability.model("tiny-v1.5-torch-foldbn-6.onnx"), toPath: newPath)
        let newSHA = try await swapIn(newPath, "good-1", replacing: oldSHA)

        // 5. A compiled model (.sbm).
        let compiledPath = models + "/bin-v3.sbm"
        let compile = try SmartBinChildProcess(["model", "compile", try Reliability.model("tiny-v1.5-torch-6.onnx"), "-o", compiledPath],
                                               directory: directory)
        try #require(await compile.wait(timeout: .seconds(120)) == 0, "smartbin model compile failed:\n\(compile.output)")
        _ = try await swapIn(compiledPath, "good-2", replacing: newSHA)
        bin.signal(SIGTERM)
        #expect(await bin.wait(timeout: .seconds(20)) == 0)
        print("reload_model: garbage and truncated files refused (old model kept), foreign path refused, good .onnx and .sbm models swapped in")
    }
}
