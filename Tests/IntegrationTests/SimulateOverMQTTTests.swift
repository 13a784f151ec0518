import BinTestKit
import Foundation
import Testing

/// The simulated bin end to end: the real `smartbin simulate` process, a real mosquitto on
/// loopback, and an independent subscriber (`mosquitto_sub`) checking what the fleet receives.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SimulateOverMQTTTests {
    static let eventKeys: Set<String> = ["schema", "id", "seq", "bin_id", "ts", "label", "class_index", "confidence",
                                         "top", "route", "fallback", "flap_angle_deg", "model", "timing_ms", "firmware"]

    static func events(_ messages: [BrokerMessage], topic: String) throws -> [[String: Any]] {
        try messages.filter { $0.topic == topic }.map { message in
            let object = try JSONSerialization.jsonObject(with: Data(message.payload.utf8))
            return try #require(object as? [String: Any], "event is not a JSON object: \(message.payload)")
        }
    }

    @Test func routesNItemsAndEveryEventArrivesOnceInOrder() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let base = "smartbin/fleetA/bin-7"
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [base + "/#"])
        defer { Task { await subscriber.stop() } }

        let items = 6
        let bin = try SmartBinChildProcess(["simulate", "--broker", "127.0.0.1:\(broker.port)", "--fleet", "fleetA", "--bin-id", "bin-7",
                                       "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                                       "--items", "\(items)", "--rate", "20", "--data-dir", directory + "/data"],
                                      directory: directory)
        let status = await bin.wait(timeout: .seconds(90))
        #expect(status == 0, "simulate exited with \(String(describing: status)):\n\(bin.output)")

        let received = await subscriber.waitForMessages(count: items, topic: base + "/event", timeout: .seconds(10))
        let events = try Self.events(received, topic: base + "/event")
        #expect(events.count == items, "expected \(items) events, got \(events.count)")
        for event in events {
            #expect(Set(event.keys) == Self.eventKeys, "event keys: \(event.keys.sorted())")
            #expect(event["schema"] as? Int == 1)
            #expect(event["bin_id"] as? String == "bin-7")
            let confidence = try #require(event["confidence"] as? Double)
            #expect((0...1).contains(confidence))
            let top = try #require(event["top"] as? [[String: Any]])
            #expect(!top.isEmpty && top[0]["label"] as? String == event["label"] as? String)
            let model = try #require(event["model"] as? [String: Any])
            #expect((model["sha256"] as? String)?.count == 64 && model["precision"] as? String == "fp32")
            let timing = try #require(event["timing_ms"] as? [String: Any])
            #expect(Set(timing.keys) == ["capture", "preprocess", "inference", "actuate", "total"])
            #expect(["recyclable", "other"].contains(event["route"] as? String ?? ""))
            // No [flap] in the config: the angles of board/generic.toml's [servo.angles].
            let generic: [String: Double] = ["recyclable": 30, "other": 170]
            #expect((event["flap_angle_deg"] as? NSNumber)?.doubleValue == generic[event["route"] as? String ?? ""], "\(event)")
            #expect((event["ts"] as? String)?.hasSuffix("Z") == true)
        }
        let ids = events.compactMap { $0["id"] as? String }
        #expect(Set(ids).count == items, "event ids are not unique: \(ids)")
        let seqs = events.compactMap { ($0["seq"] as? NSNumber)?.intValue }
        #expect(seqs == Array(seqs.first.map { $0..<($0 + items) } ?? 0..<0), "seq not gap-free: \(seqs)")

        let availability = subscriber.messages.filter { $0.topic == base + "/available" }.map(\.payload)
        #expect(availability.first == "online" && availability.last == "stopped", "available: \(availability)")
        let states = subscriber.messages.filter { $0.topic == base + "/state" }
        #expect(!states.isEmpty)
        let last = try #require(states.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any] })
        let counts = try #require(last["counts"] as? [String: Int])
        #expect(counts.values.reduce(0, +) == items)
    }

    /// `simulate` turns the flap to the configured board profile's angles, and to the config's
    /// own `[flap]` angles when it has them, as `run` does.
    @Test func flapAnglesComeFromTheBoardProfileUnlessTheConfigSetsThem() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let generic = try String(contentsOfFile: SmartBinChildProcess.packageRoot + "/board/generic.toml", encoding: .utf8)
        let board = generic.replacingOccurrences(of: "\nrecyclable = 30\n", with: "\nrecyclable = 33\n")
            .replacingOccurrences(of: "\nother = 170\n", with: "\nother = 166\n")
        try #require(board != generic && board.contains("other = 166"), "board/generic.toml's [servo.angles] changed; update this test")
        try board.write(toFile: directory + "/board.toml", atomically: true, encoding: .utf8)
        let cases: [(config: String, angles: [String: Double])] = [
            ("[bin]\nboard = \"\(directory)/board.toml\"\n", ["recyclable": 33, "other": 166]),
            ("[bin]\nboard = \"\(directory)/board.toml\"\n[flap]\nangles = { recyclable = 61, other = 122 }\n", ["recyclable": 61, "other": 122]),
        ]
        for (index, item) in cases.enumerated() {
            let binID = "bin-flap\(index)"
            let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: ["smartbin/default/\(binID)/event"])
            defer { Task { await subscriber.stop() } }
            try item.config.write(toFile: directory + "/bin\(index).toml", atomically: true, encoding: .utf8)
            let bin = try SmartBinChildProcess(["simulate", "--config", directory + "/bin\(index).toml", "--broker", "127.0.0.1:\(broker.port)",
                                                "--bin-id", binID, "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                                                "--items", "3", "--rate", "20", "--data-dir", directory + "/data\(index)"], directory: directory)
            let status = await bin.wait(timeout: .seconds(90))
            #expect(status == 0, "simulate exited with \(String(describing: status)):\n\(bin.output)")
            let events = try Self.events(await subscriber.waitForMessages(count: 3, topic: "smartbin/default/\(binID)/event", timeout: .seconds(10)),
                                         topic: "smartbin/default/\(binID)/event")
            #expect(events.count == 3)
            for event in events {
                let route = event["route"] as? String ?? ""
                #expect((event["flap_angle_deg"] as? NSNumber)?.doubleValue == item.angles[route], "case \(index): \(event)")
            }
        }
    }

    /// The MQTT keys of the config file, overridden on the command line: the broker sees the
    /// command line's client id and user name, the fleet the command line's topic prefix.
    @Test func commandLineMQTTOptionsWinOverTheConfigFile() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: ["clipfx/#", "filepfx/#"])
        defer { Task { await subscriber.stop() } }
        for (name, secret) in [("file.password", "from-the-file"), ("cli.password", "from-the-command-line")] {
            try (secret + "\n").write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory + "/" + name)
        }
        try """
            [bin]
            id = "bin-o"
            [mqtt]
            port = 1
            client_id = "file-client"
            username = "file-user"
            password_file = "\(directory)/file.password"
            topic_prefix = "filepfx"

            """.write(toFile: directory + "/bin.toml", atomically: true, encoding: .utf8)
        let bin = try SmartBinChildProcess(["simulate", "--config", directory + "/bin.toml", "--broker", "127.0.0.1:\(broker.port)",
                                            "--client-id", "cli-client", "--username", "cli-user",
                                            "--password-file", directory + "/cli.password", "--topic-prefix", "clipfx",
                                            "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                                            "--items", "2", "--rate", "20", "--data-dir", directory + "/data"], directory: directory)
        let status = await bin.wait(timeout: .seconds(90))
        #expect(status == 0, "simulate exited with \(String(describing: status)):\n\(bin.output)")
        let events = await subscriber.waitForMessages(count: 2, topic: "clipfx/default/bin-o/event", timeout: .seconds(10))
        #expect(events.count == 2, "events under the command line's prefix: \(events.count)")
        #expect(!subscriber.messages.contains { $0.topic.hasPrefix("filepfx/") }, "something was published under the file's prefix")
        #expect(broker.log.contains("as cli-client (") && broker.log.contains("u'cli-user'"), "\(broker.log)")
        #expect(!broker.log.contains("file-client") && !broker.log.contains("file-user"), "\(broker.log)")
    }

    @Test func sigtermStopsGracefullyAndPublishesStopped() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let base = "smartbin/default/bin-term"
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [base + "/#"])
        defer { Task { await subscriber.stop() } }
        let bin = try SmartBinChildProcess(["simulate", "--broker", "127.0.0.1:\(broker.port)", "--bin-id", "bin-term",
                                       "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                                       "--rate", "10", "--data-dir", directory + "/data"], directory: directory)
        let first = await subscriber.waitForMessages(count: 1, topic: base + "/event", timeout: .seconds(30))
        #expect(first.count == 1, "no event before SIGTERM:\n\(bin.output)")
        bin.signal(SIGTERM)
        let status = await bin.wait(timeout: .seconds(20))
        #expect(status == 0, "exit after SIGTERM: \(String(describing: status))\n\(bin.output)")
        #expect(await subscriber.waitForMessage(topic: base + "/available", payload: "stopped", timeout: .seconds(5)) != nil)
        #expect(bin.output.contains("flap released"), "the flap was not homed and released:\n\(bin.output)")
    }

    @Test func sigkillLeavesTheLastWillOffline() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let base = "smartbin/default/bin-kill"
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [base + "/available"])
        defer { Task { await subscriber.stop() } }
        let bin = try SmartBinChildProcess(["simulate", "--broker", "127.0.0.1:\(broker.port)", "--bin-id", "bin-kill",
                                       "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                                       "--rate", "2", "--data-dir", directory + "/data"], directory: directory)
        #expect(await subscriber.waitForMessage(topic: base + "/available", payload: "online", timeout: .seconds(30)) != nil,
                "never online:\n\(bin.output)")
        bin.signal(SIGKILL)
        _ = await bin.wait(timeout: .seconds(5))
        #expect(await subscriber.waitForMessage(topic: base + "/available", payload: "offline", timeout: .seconds(10)) != nil,
                "no Last Will after SIGKILL")
    }

    @Test func eventsRecordedWhileTheBrokerIsDownAreDeliveredLater() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try MosquittoBroker.freeLoopbackPort()
        let model = try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx")
        // No broker: the bin routes 3 items, keeps the events in its outbox and exits 0.
        let offline = try SmartBinChildProcess(["simulate", "--broker", "127.0.0.1:\(port)", "--bin-id", "bin-down", "--model", model,
                                           "--items", "3", "--rate", "20", "--flush-timeout", "2", "--data-dir", directory + "/data"],
                                          directory: directory)
        let status = await offline.wait(timeout: .seconds(90))
        #expect(status == 0, "\(offline.output)")
        #expect(offline.output.contains("3 event(s) not yet acknowledged"), "\(offline.output)")

        let broker = try MosquittoBroker(port: port)
        try await broker.start()
        defer { Task { await broker.stop() } }
        let subscriber = try await BrokerSubscriber.start(port: port, topics: ["smartbin/default/bin-down/event"])
        defer { Task { await subscriber.stop() } }
        // The next start replays the outbox first, then routes its own item.
        let online = try SmartBinChildProcess(["simulate", "--broker", "127.0.0.1:\(port)", "--bin-id", "bin-down", "--model", model,
                                          "--items", "1", "--rate", "20", "--data-dir", directory + "/data"], directory: directory)
        #expect(await online.wait(timeout: .seconds(60)) == 0, "\(online.output)")
        let events = try Self.events(await subscriber.waitForMessages(count: 4, timeout: .seconds(10)),
                                     topic: "smartbin/default/bin-down/event")
        #expect(events.compactMap { ($0["seq"] as? NSNumber)?.intValue } == [1, 2, 3, 4])
    }
}
