import BinCore
import BinTestKit
import Foundation
import Imaging
import Simulation
import Testing

/// Faults the bin must ride out: no broker (at start and mid-run), a frame that does not decode,
/// a bad model pushed by `cmd/reload_model`, SIGTERM while the flap moves.
@Suite(.serialized, .timeLimit(.minutes(3))) struct FaultTests {
    static func events(_ messages: [BrokerMessage], topic: String) -> [[String: Any]] {
        messages.filter { $0.topic == topic }.compactMap { Reliability.parseJSON($0.payload) }
    }

    /// The broker is down when the bin starts, comes up, goes down again mid-run and comes back:
    /// every event is kept in the outbox meanwhile and delivered, seq 1...N, and the run exits 0.
    @Test func brokerDownAtStartAndMidRunLosesNothing() async throws {
        let directory = try Reliability.temporaryDirectory("fault-broker")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Reliability.fastConfig.write(toFile: directory + "/fast.toml", atomically: true, encoding: .utf8)
        let port = try MosquittoBroker.freeLoopbackPort()
        let broker = try MosquittoBroker(port: port, persistence: true)
        let items = 60
        let bin = try SmartBinChildProcess(["simulate", "--config", directory + "/fast.toml", "--broker", "127.0.0.1:\(port)",
                                     "--bin-id", "bin-f1", "--model", try Reliability.model("tiny-v1.5-torch-6.onnx"),
                                     "--items", "\(items)", "--rate", "15", "--flush-timeout", "30",
                                     "--data-dir", directory + "/data"], directory: directory)
        #expect(await bin.waitForOutput("event seq 10:", timeout: .seconds(30)), "no events without a broker:\n\(bin.output)")
        try await broker.start(timeout: .seconds(20))
        let topic = "smartbin/default/bin-f1/event"
        let subscriber = try await BrokerSubscriber.start(port: port, topics: [topic], persistentClientID: "fault-sub", timeout: .seconds(20))
        #expect(await subscriber.waitForMessages(count: 15, topic: topic, timeout: .seconds(20)).count >= 15)
        await broker.stop()
        try await Task.sleep(for: .seconds(1))
        try await broker.start(timeout: .seconds(20))
        let status = await bin.wait(timeout: .seconds(60))
        #expect(status == 0, "exit \(String(describing: status)):\n\(bin.output.suffix(2000))")
        let received = await subscriber.waitForMessages(count: items, topic: topic, timeout: .seconds(15))
        await subscriber.stop()
        await broker.stop()
        var seqs: [Int] = []
        var ids = Set<String>()
        for event in Self.events(received, topic: topic) {
            if let id = event["id"] as? String, ids.insert(id).inserted, let seq = (event["seq"] as? NSNumber)?.intValue {
                seqs.append(seq)
            }
        }
        #expect(seqs == Array(1...items), "seqs: \(seqs)")
        print("faults: broker down at start and mid-run: \(items) recorded, \(received.count) received, \(ids.count) distinct, \(Set(1...items).subtracting(seqs).count) missing")
    }

    /// A JPEG that does not decode faults the cycle with the file and the decoder's reason; the
    /// retry homes the flap and the next item is routed.
    @Test func corruptFrameFaultsWithAReasonAndTheBinRecovers() async throws {
        let directory = try Reliability.temporaryDirectory("fault-frames")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try JPEG.encode(RGBImage(width: 32, height: 24, pixels: [UInt8](repeating: 90, count: 32 * 24 * 3)))
        try Data(Array(good.prefix(good.count / 2))).write(to: URL(fileURLWithPath: directory + "/a-truncated.jpg"))
        try Data("not a jpeg at all".utf8).write(to: URL(fileURLWithPath: directory + "/b-garbage.jpg"))
        try Data(good).write(to: URL(fileURLWithPath: directory + "/c-good.jpg"))
        let frames = try ImageFolderFrameSource(directory: directory, order: .sequential) { path in
            let image = try JPEG.decode(contentsOf: path)
            return Frame(width: image.width, height: image.height, rgb: image.pixels, origin: path)
        }
        let classifier = ScriptedClassifier(labels: TestBins.trashnetLabels)
        classifier.set(directory + "/c-good.jpg", .result(label: "glass", confidence: 0.9))
        var config = TestBins.config
        config.timing = .init(debounce: .zero, settle: .zero, dwell: .zero)
        config.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10), multiplier: 1, maxBackoff: .milliseconds(10))
        let triggers = FakeTriggerSource()
        let sink = RecordingEventSink()
        let flap = RecordingFlap()
        let controller = try BinController(
            config: config, labels: TestBins.trashnetMap, identity: .init(binID: "bin-1", firmware: "test"),
            triggers: triggers, frames: frames, classifier: classifier, flap: flap, sink: sink,
            clock: ContinuousClock(), wallClock: { 0 })
        let run = Task { await controller.run(stopWhenTriggersEnd: true) }
        for _ in 0..<3 {
            triggers.send(.lidOpened)
            for _ in 0..<400 {
                try await Task.sleep(for: .milliseconds(5))
                let snapshot = await controller.snapshot
                if snapshot.state == .idle && snapshot.atRest { break }
            }
        }
        triggers.finish()
        await run.value
        let transitions = await controller.recentTransitions
        let faults = transitions.filter { $0.to == .fault }
        #expect(faults.count == 2, "\(transitions)")
        #expect(faults.first?.cause.contains("a-truncated.jpg") == true, "\(faults)")
        #expect(faults.last?.cause.contains("b-garbage.jpg") == true, "\(faults)")
        #expect(transitions.contains { $0.from == .returning && $0.to == .idle && $0.cause.contains("recovered") })
        #expect(sink.events.map(\.classification.label) == ["glass"], "the good frame after two bad ones was routed")
        #expect(flap.moves.last == config.flap.homeDegrees)
        print("faults: corrupt frames: \(faults.map(\.cause))")
    }

    /// SIGTERM while the flap is on its way to a compartment: the move is abandoned, the flap is
    /// sent home, released there, `stopped` is published and the process exits 0.
    @Test func sigtermDuringAFlapMoveReturnsTheFlapHome() async throws {
        let directory = try Reliability.temporaryDirectory("fault-term")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Far compartments: the simulated servo (2 ms per degree) takes 300+ ms to get there.
        try """
            [timing]
            settle_ms = 0
            dwell_ms = 2000
            [flap]
            home_deg = 10
            angles = { recyclable = 170, other = 175, kitchen = 160, hazardous = 165 }
            """.write(toFile: directory + "/slow.toml", atomically: true, encoding: .utf8)
        let broker = try await MosquittoBroker.start(timeout: .seconds(20))
        let bin = try SmartBinChildProcess(["simulate", "--config", directory + "/slow.toml", "--broker", "127.0.0.1:\(broker.port)",
                                     "--bin-id", "bin-term", "--model", try Reliability.model("tiny-v1.5-torch-6.onnx"),
                                     "--rate", "50", "--data-dir", directory + "/data"], directory: directory)
        #expect(await bin.waitForOutput("flap 10.0° → 1", timeout: .seconds(30)), "flap never moved out:\n\(bin.output)")
        bin.signal(SIGTERM)
        let status = await bin.wait(timeout: .seconds(20))
        await broker.stop()
        let output = bin.output
        #expect(status == 0, "exit \(String(describing: status)):\n\(output.suffix(2000))")
        let outward = try #require(output.range(of: "flap 10.0° → 1"))
        let after = output[outward.upperBound...]
        #expect(after.contains("→ 10.0°"), "the flap was not sent home after SIGTERM:\n\(after)")
        #expect(after.contains("flap released at 10.0°"), "the flap was not released at home:\n\(after)")
        #expect(after.contains("stopping"), "no stopping transition:\n\(after)")
    }
}
