import BinTestKit
import Foundation
import Testing

/// Model updates against the running simulated bin over a real broker: a good model sent in
/// chunks is swapped in (events carry its sha256), a corrupt one and a wrong digest are refused
/// with a reason and the model in use stays, rollback returns to the previous model, a model
/// dropped into `models/incoming/` is installed, and the installed model survives a restart —
/// for ONNX files and for compiled `.sbm` models alike.
@Suite(.serialized, .timeLimit(.minutes(4))) struct ModelUpdateOverMQTTTests {
    static func sha256(_ path: String) throws -> String {
        let run = try ToolRun.run("/usr/bin/sha256sum", [path])
        return String(run.output.prefix(64))
    }

    static func json(_ message: BrokerMessage) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(message.payload.utf8))) as? [String: Any] ?? [:]
    }

    static func eventModel(_ message: BrokerMessage) -> String? {
        (json(message)["model"] as? [String: Any])?["sha256"] as? String
    }

    /// Waits for the `n`-th message on `topic` and returns it parsed.
    static func result(_ subscriber: BrokerSubscriber, topic: String, number: Int, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let messages = await subscriber.waitForMessages(count: number, topic: topic, timeout: timeout)
        try #require(messages.count >= number, "no answer #\(number) on \(topic); got \(messages.map(\.payload))")
        return json(messages[number - 1])
    }

    /// Waits until an event arrives, after the first `after` messages, carrying model `sha`;
    /// returns the model digests of every event from there on.
    static func eventsSwitch(_ subscriber: BrokerSubscriber, topic: String, to sha: String, after: Int, timeout: Duration = .seconds(30)) async -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let models = subscriber.messages.filter { $0.topic == topic }.dropFirst(after).compactMap(eventModel)
            if let first = models.firstIndex(of: sha), models.count >= first + 3 { return Array(models[first...]) }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return subscriber.messages.filter { $0.topic == topic }.dropFirst(after).compactMap(eventModel)
    }

    @Test func updateRefuseRollbackDropAndRestart() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let base = "smartbin/default/bin-upd"
        let (eventTopic, updateResult, rollbackResult) = (base + "/event", base + "/cmd/update_model/result", base + "/cmd/rollback_model/result")
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [base + "/#"])
        defer { Task { await subscriber.stop() } }

        let modelA = try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx")
        let modelB = try SmartBinChildProcess.model("tiny-v1.5-keras-6.onnx")
        let modelC = try SmartBinChildProcess.model("tiny-v1.5-torch-foldbn-6.onnx")
        let (shaA, shaB, shaC) = (try Self.sha256(modelA), try Self.sha256(modelB), try Self.sha256(modelC))
        let data = directory + "/data"
        let arguments = ["simulate", "--broker", "127.0.0.1:\(broker.port)", "--bin-id", "bin-upd", "--model", modelA,
                         "--rate", "10", "--data-dir", data]
        var bin = try SmartBinChildProcess(arguments, directory: directory)

        let first = await subscriber.waitForMessages(count: 1, topic: eventTopic, timeout: .seconds(60))
        try #require(first.count == 1, "no event:\n\(bin.output)")
        #expect(Self.eventModel(first[0]) == shaA)

        // 1. A good model in three base64 chunks.
        try await Self.sendInChunks(modelB, parts: 3, transfer: "b1", sha256: shaB, port: broker.port, base: base)
        let swapped = try await Self.result(subscriber, topic: updateResult, number: 1)
        #expect(swapped["ok"] as? Bool == true && swapped["sha256"] as? String == shaB && swapped["in_use"] as? String == shaB,
                "\(swapped)\n\(bin.output)")
        var seen = subscriber.messages.filter { $0.topic == eventTopic }.count
        var models = await Self.eventsSwitch(subscriber, topic: eventTopic, to: shaB, after: seen)
        #expect(models.first == shaB && Set(models) == [shaB], "events after the update: \(models)")

        // 2. A corrupt model (right digest, not a model) and a wrong digest: refused, B stays.
        let corrupt = data + "/models/corrupt.onnx"
        try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }).write(to: URL(fileURLWithPath: corrupt))
        try await BrokerSubscriber.publish(port: broker.port, topic: base + "/cmd/update_model",
                                           payload: #"{"sha256":"\#(try Self.sha256(corrupt))","path":"\#(corrupt)"}"#)
        let refused = try await Self.result(subscriber, topic: updateResult, number: 2)
        #expect(refused["ok"] as? Bool == false && refused["in_use"] as? String == shaB, "\(refused)")
        #expect((refused["reason"] as? String)?.contains("does not load") == true, "\(refused)")
        try FileManager.default.copyItem(atPath: modelC, toPath: data + "/models/c.onnx")
        try await BrokerSubscriber.publish(port: broker.port, topic: base + "/cmd/update_model",
                                           payload: #"{"sha256":"\#(shaA)","path":"\#(data)/models/c.onnx"}"#)
        let mismatch = try await Self.result(subscriber, topic: updateResult, number: 3)
        #expect(mismatch["ok"] as? Bool == false && (mismatch["reason"] as? String)?.contains("sha256 mismatch") == true, "\(mismatch)")
        // Schema: unknown keys and oversized fields are refused too.
        try await BrokerSubscriber.publish(port: broker.port, topic: base + "/cmd/update_model",
                                           payload: #"{"sha256":"\#(shaA)","path":"/etc/passwd","url":"http://x"}"#)
        let schema = try await Self.result(subscriber, topic: updateResult, number: 4)
        #expect(schema["ok"] as? Bool == false && (schema["reason"] as? String)?.contains("unknown key 'url'") == true, "\(schema)")
        seen = subscriber.messages.filter { $0.topic == eventTopic }.count
        _ = await subscriber.waitForMessages(count: seen + 3, topic: eventTopic, timeout: .seconds(20))
        models = subscriber.messages.filter { $0.topic == eventTopic }.dropFirst(seen).compactMap(Self.eventModel)
        #expect(!models.isEmpty && Set(models) == [shaB], "after refusals the model must stay B: \(models)")

        // 3. Rollback: back to A.
        try await BrokerSubscriber.publish(port: broker.port, topic: base + "/cmd/rollback_model", payload: "{}")
        let rolled = try await Self.result(subscriber, topic: rollbackResult, number: 1)
        #expect(rolled["ok"] as? Bool == true && rolled["sha256"] as? String == shaA, "\(rolled)")
        seen = subscriber.messages.filter { $0.topic == eventTopic }.count
        models = await Self.eventsSwitch(subscriber, topic: eventTopic, to: shaA, after: seen)
        #expect(models.first == shaA && Set(models) == [shaA], "events after rollback: \(models)")

        // 4. Dropped into models/incoming/ with its sha256sum sidecar.
        try await Self.drop(modelC, as: "dropped.onnx", sha: shaC, data: data, subscriber, updateResult: updateResult,
                            number: 5, eventTopic: eventTopic)

        // 5. Restart with --model A: the installed model (C) is what runs.
        bin = try await Self.restartRuns(shaC, bin, arguments: arguments, directory: directory, subscriber, eventTopic: eventTopic)
        bin.signal(SIGTERM)
        _ = await bin.wait(timeout: .seconds(20))
    }

    /// Publishes the file at `path` to `base`/cmd/update_model as `parts` base64 chunks of transfer `transfer`.
    static func sendInChunks(_ path: String, parts: Int, transfer: String, sha256: String, port: Int, base: String) async throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let size = (bytes.count + parts - 1) / parts
        for index in 0..<parts {
            let chunk = Data(bytes[(index * size)..<min(bytes.count, (index + 1) * size)]).base64EncodedString()
            try await BrokerSubscriber.publish(port: port, topic: base + "/cmd/update_model",
                                               payload: #"{"transfer":"\#(transfer)","chunk":\#(index),"of":\#(parts),"sha256":"\#(sha256)","data":"\#(chunk)"}"#)
        }
    }

    /// Drops `file` into `data`/models/incoming/ as `name` with its sha256sum sidecar; result
    /// `number` on `updateResult` must install it from there, and the events switch to `sha`.
    static func drop(_ file: String, as name: String, sha: String, data: String, _ subscriber: BrokerSubscriber,
                     updateResult: String, number: Int, eventTopic: String) async throws {
        try FileManager.default.copyItem(atPath: file, toPath: data + "/models/incoming/" + name)
        try "\(sha)  \(name)\n".write(toFile: data + "/models/incoming/\(name).sha256", atomically: true, encoding: .utf8)
        let dropped = try await result(subscriber, topic: updateResult, number: number)
        #expect(dropped["ok"] as? Bool == true && dropped["sha256"] as? String == sha && dropped["source"] as? String == "incoming/" + name,
                "\(dropped)")
        let seen = subscriber.messages.filter { $0.topic == eventTopic }.count
        let models = await eventsSwitch(subscriber, topic: eventTopic, to: sha, after: seen)
        #expect(models.first == sha, "events after the drop: \(models)")
    }

    /// Stops `bin` (SIGTERM, exit 0), starts it again with the same `arguments`, and expects its
    /// first event to name the installed model `sha`. Returns the new process.
    static func restartRuns(_ sha: String, _ bin: SmartBinChildProcess, arguments: [String], directory: String,
                            _ subscriber: BrokerSubscriber, eventTopic: String) async throws -> SmartBinChildProcess {
        bin.signal(SIGTERM)
        #expect(await bin.wait(timeout: .seconds(20)) == 0, "\(bin.output)")
        let seen = subscriber.messages.filter { $0.topic == eventTopic }.count
        let restarted = try SmartBinChildProcess(arguments, directory: directory)
        _ = await subscriber.waitForMessages(count: seen + 1, topic: eventTopic, timeout: .seconds(60))
        let afterRestart = subscriber.messages.filter { $0.topic == eventTopic }.dropFirst(seen).compactMap(eventModel)
        #expect(afterRestart.first == sha, "after a restart: \(afterRestart)\n\(restarted.output)")
        return restarted
    }

    /// Compiles `onnx` with `smartbin model compile` (fp32) into `output`.
    static func compile(_ onnx: String, to output: String, directory: String) async throws {
        let process = try SmartBinChildProcess(["model", "compile", onnx, "-o", output], directory: directory)
        let status = await process.wait(timeout: .seconds(120))
        try #require(status == 0, "smartbin model compile \(onnx) failed:\n\(process.output)")
    }

    @Test func compiledModelsUpdateByChunksPathAndDropFolder() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let base = "smartbin/default/bin-sbm"
        let (eventTopic, updateResult) = (base + "/event", base + "/cmd/update_model/result")
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [base + "/#"])
        defer { Task { await subscriber.stop() } }

        let modelA = try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx")
        let (sbmB, sbmC, sbmD) = (directory + "/b.sbm", directory + "/c.sbm", directory + "/d.sbm")
        try await Self.compile(try SmartBinChildProcess.model("tiny-v1.5-keras-6.onnx"), to: sbmB, directory: directory)
        try await Self.compile(try SmartBinChildProcess.model("tiny-v1.5-torch-foldbn-6.onnx"), to: sbmC, directory: directory)
        try await Self.compile(modelA, to: sbmD, directory: directory)
        let (shaB, shaC, shaD) = (try Self.sha256(sbmB), try Self.sha256(sbmC), try Self.sha256(sbmD))
        let data = directory + "/data"
        let arguments = ["simulate", "--broker", "127.0.0.1:\(broker.port)", "--bin-id", "bin-sbm", "--model", modelA,
                         "--rate", "10", "--data-dir", data]
        var bin = try SmartBinChildProcess(arguments, directory: directory)
        let first = await subscriber.waitForMessages(count: 1, topic: eventTopic, timeout: .seconds(60))
        try #require(first.count == 1, "no event:\n\(bin.output)")

        // 1. An .sbm in chunks: recognised by its magic, kept as <transfer>.sbm, loaded as compiled.
        try await Self.sendInChunks(sbmB, parts: 2, transfer: "sbm1", sha256: shaB, port: broker.port, base: base)
        let chunked = try await Self.result(subscriber, topic: updateResult, number: 1)
        #expect(chunked["ok"] as? Bool == true && chunked["in_use"] as? String == shaB, "\(chunked)\n\(bin.output)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: data + "/models/current.onnx") == data + "/models/sbm1.sbm")
        let seen = subscriber.messages.filter { $0.topic == eventTopic }.count
        let models = await Self.eventsSwitch(subscriber, topic: eventTopic, to: shaB, after: seen)
        #expect(models.first == shaB && Set(models) == [shaB], "events after the .sbm update: \(models)")

        // 2. An .sbm already copied into the models folder, by path.
        try FileManager.default.copyItem(atPath: sbmC, toPath: data + "/models/c.sbm")
        try await BrokerSubscriber.publish(port: broker.port, topic: base + "/cmd/update_model",
                                           payload: #"{"sha256":"\#(shaC)","path":"\#(data)/models/c.sbm"}"#)
        let byPath = try await Self.result(subscriber, topic: updateResult, number: 2)
        #expect(byPath["ok"] as? Bool == true && byPath["in_use"] as? String == shaC, "\(byPath)")
        // Other extensions are still refused, naming both accepted ones.
        try FileManager.default.copyItem(atPath: sbmC, toPath: data + "/models/c.bin")
        try await BrokerSubscriber.publish(port: broker.port, topic: base + "/cmd/update_model",
                                           payload: #"{"sha256":"\#(shaC)","path":"\#(data)/models/c.bin"}"#)
        let wrongName = try await Self.result(subscriber, topic: updateResult, number: 3)
        #expect(wrongName["ok"] as? Bool == false && (wrongName["reason"] as? String)?.contains("an .onnx or .sbm file") == true, "\(wrongName)")

        // 3. Dropped into incoming/ with its sha256sum sidecar.
        try await Self.drop(sbmD, as: "dropped.sbm", sha: shaD, data: data, subscriber, updateResult: updateResult,
                            number: 4, eventTopic: eventTopic)

        // 4. A restart loads the installed .sbm through current.onnx.
        bin = try await Self.restartRuns(shaD, bin, arguments: arguments, directory: directory, subscriber, eventTopic: eventTopic)
        bin.signal(SIGTERM)
        _ = await bin.wait(timeout: .seconds(20))
    }
}
