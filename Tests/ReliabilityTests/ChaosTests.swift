import BinTestKit
import Foundation
import Logging
import Telemetry
import Testing

/// "Nothing lost": the real `smartbin simulate` process routes N items while the broker is
/// stopped and restarted R times and the firmware is SIGKILLed K times at random points (and
/// restarted on the same data dir). A persistent subscriber (`mosquitto_sub -c -q 1`) must see
/// every event id, seq 1...N gap-free, first occurrences in seq order; duplicates (QoS 1 is at
/// least once) are counted and dropped by id.
///
/// Runs in `make test` (its own step, `SMARTBIN_HEAVY_TESTS=1`) at full size (N=2000, R=10,
/// K=5; about 35 s with the debug build);
/// `make chaos` repeats it (`CHAOS_RUNS`, default 3) with fresh seeds. `SMARTBIN_CHAOS_EVENTS`,
/// `SMARTBIN_CHAOS_BROKER_RESTARTS` and `SMARTBIN_CHAOS_KILLS` change the size;
/// `SMARTBIN_CHAOS_SEED` replays a run's random choices (timings still vary).
@Suite(.serialized, .timeLimit(.minutes(10)), .enabled(if: Reliability.heavyTestsEnabled)) struct ChaosTests {
    struct Counts: CustomStringConvertible {
        var sent = 0, received = 0, duplicates = 0, missing = 0, outOfOrder = 0, conflicting = 0
        var brokerRestarts = 0, firmwareKills = 0, firmwareRuns = 0
        var description: String {
            "sent \(sent), received \(received), duplicates \(duplicates), missing \(missing), out of order \(outOfOrder), "
                + "seq/id conflicts \(conflicting); broker restarts \(brokerRestarts), firmware SIGKILLs \(firmwareKills), firmware runs \(firmwareRuns)"
        }
    }

    /// Events recorded so far: the outbox's next id minus one (opening it also recovers a torn tail,
    /// exactly as the next firmware start would).
    static func recorded(dataDir: String) throws -> (recorded: Int, pending: Int) {
        guard FileManager.default.fileExists(atPath: dataDir + "/outbox/outbox.log") else { return (0, 0) }
        var quiet = Logger(label: "chaos.outbox")
        quiet.logLevel = .error
        let outbox = try Outbox(directory: dataDir + "/outbox", logger: quiet)
        return (Int(outbox.nextID) - 1, outbox.pendingCount)
    }

    @Test func nothingLostThroughBrokerRestartsAndFirmwareKills() async throws {
        let events = Reliability.environmentInt("SMARTBIN_CHAOS_EVENTS", default: 2000)
        let restarts = Reliability.environmentInt("SMARTBIN_CHAOS_BROKER_RESTARTS", default: 10)
        let kills = Reliability.environmentInt("SMARTBIN_CHAOS_KILLS", default: 5)
        let seed = UInt64(Reliability.environmentInt("SMARTBIN_CHAOS_SEED", default: Int(Date().timeIntervalSince1970)))
        print("chaos: \(events) events, \(restarts) broker restarts, \(kills) firmware SIGKILLs, seed \(seed)")
        var rng = ChaosRandom(seed: seed)

        let directory = try Reliability.temporaryDirectory("chaos")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/fast.toml"
        try Reliability.fastConfig.write(toFile: config, atomically: true, encoding: .utf8)
        let dataDir = directory + "/data"
        let model = try Reliability.model("tiny-v1.5-torch-6.onnx")

        let broker = try MosquittoBroker(persistence: true)
        // Unlimited queue for the offline subscriber: the broker must not drop what it acknowledged.
        let handle = try FileHandle(forWritingTo: broker.configURL)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("max_queued_messages 0\nautosave_interval 0\n".utf8))
        try handle.close()
        try await broker.start(timeout: .seconds(20))
        let topic = "smartbin/chaos/bin-c1/event"
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: ["smartbin/chaos/+/event"],
                                                          persistentClientID: "chaos-sub-\(seed)", timeout: .seconds(20))
        var counts = Counts()
        let started = ContinuousClock.now

        // Broker chaos runs beside the firmware runs: restart i once the subscriber has seen
        // about i/(R+1) of the events, down for 0.2–1.5 s each time.
        let downTimes = (0..<restarts).map { _ in Int.random(in: 200...1500, using: &rng) }
        let brokerChaos = Task {
            var done = 0
            for index in 0..<restarts {
                let threshold = events * (index + 1) / (restarts + 1)
                while Set(subscriber.messages.filter { $0.topic == topic }.map(\.payload)).count < threshold {
                    if Task.isCancelled { return done }
                    try? await Task.sleep(for: .milliseconds(50))
                }
                await broker.stop()
                try? await Task.sleep(for: .milliseconds(downTimes[index]))
                do { try await broker.start(timeout: .seconds(10)) } catch { print("chaos: broker restart failed: \(error)") }
                done += 1
            }
            return done
        }

        // Kill points in the firmware's own progress (the seq of the event it last logged), one in
        // each of K equal slices of 1..<N: a kill always lands while items are still to route, so
        // a fast build cannot finish the run before all K kills happened (delivered counts lag
        // recording by hundreds of events while the broker is down).
        let slice = max(1, events / (kills + 1))
        let killPoints = (0..<kills).map { index in
            min(events - 1, slice * (index + 1) + Int.random(in: -(slice / 3)...(slice / 3), using: &rng))
        }
        var killsLeft = kills
        var lastOutput = ""
        let deadline = ContinuousClock.now + .seconds(Double(events) / 10 + 120)
        while ContinuousClock.now < deadline {
            let (recorded, pending) = try Self.recorded(dataDir: dataDir)
            let remaining = events - recorded
            if remaining == 0 && pending == 0 { break }
            let child = try SmartBinChildProcess(["simulate", "--config", config, "--broker", "127.0.0.1:\(broker.port)",
                                           "--fleet", "chaos", "--bin-id", "bin-c1", "--model", model,
                                           "--items", "\(max(0, remaining))", "--rate", "1000", "--flush-timeout", "15",
                                           "--data-dir", dataDir], directory: directory)
            counts.firmwareRuns += 1
            if killsLeft > 0 {
                let point = max(killPoints[kills - killsLeft], recorded + 1)
                var progress = LoggedProgress(path: child.outputPath)
                let killBy = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < killBy, progress.lastSeq() < point, child.process.isRunning {
                    try await Task.sleep(for: .milliseconds(5))
                }
                if !child.process.isRunning {
                    Issue.record("simulate exited with \(child.process.terminationStatus) before kill point \(point):\n\(child.output.suffix(3000))")
                }
                child.signal(SIGKILL)
                _ = await child.wait(timeout: .seconds(10))
                killsLeft -= 1
                counts.firmwareKills += 1
                let after = try Self.recorded(dataDir: dataDir)
                print("chaos: SIGKILL \(counts.firmwareKills) of \(kills) at logged seq \(progress.lastSeq()) (point \(point)): "
                      + "\(after.recorded) recorded, \(after.pending) pending")
            } else {
                let status = await child.wait(timeout: .seconds(Double(remaining) / 10 + 60))
                lastOutput = child.output
                #expect(status == 0, "simulate exited with \(String(describing: status)):\n\(lastOutput.suffix(3000))")
                if status == nil { child.signal(SIGKILL); break }
            }
        }
        counts.brokerRestarts = await brokerChaos.value

        // Everything recorded must arrive.
        let final = try Self.recorded(dataDir: dataDir)
        counts.sent = final.recorded
        #expect(final.recorded == events, "recorded \(final.recorded) of \(events)")
        #expect(final.pending == 0, "\(final.pending) events still in the outbox:\n\(lastOutput.suffix(2000))")
        var seen: [BrokerMessage] = []
        let waitUntil = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < waitUntil {
            seen = subscriber.messages.filter { $0.topic == topic }
            if Set(seen.map(\.payload)).count >= events { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        await subscriber.stop()
        await broker.stop()

        var idForSeq: [Int: String] = [:]
        var firstSeqs: [Int] = []
        var seenIDs = Set<String>()
        for message in seen {
            guard let json = Reliability.parseJSON(message.payload), let id = json["id"] as? String,
                  let seq = (json["seq"] as? NSNumber)?.intValue else {
                Issue.record("not an event: \(message.payload.prefix(200))")
                continue
            }
            counts.received += 1
            if let known = idForSeq[seq], known != id { counts.conflicting += 1 }
            idForSeq[seq] = id
            if seenIDs.insert(id).inserted { firstSeqs.append(seq) } else { counts.duplicates += 1 }
        }
        counts.missing = Set(1...max(1, events)).subtracting(idForSeq.keys).count
        counts.outOfOrder = zip(firstSeqs, firstSeqs.dropFirst()).filter { $0 >= $1 }.count
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        print("chaos result: \(counts) in \(Int(seconds)) s (seed \(seed))")
        #expect(counts.brokerRestarts == restarts)
        #expect(counts.firmwareKills == kills)
        #expect(counts.missing == 0, "missing seqs: \(Set(1...max(1, events)).subtracting(idForSeq.keys).sorted().prefix(50))")
        #expect(counts.conflicting == 0)
        let inversions = zip(firstSeqs.indices, zip(firstSeqs, firstSeqs.dropFirst())).filter { $0.1.0 >= $0.1.1 }
            .prefix(10).map { "\(firstSeqs[max(0, $0.0 - 2)...min(firstSeqs.count - 1, $0.0 + 3)])" }
        #expect(counts.outOfOrder == 0, "first occurrences not in seq order around: \(inversions.joined(separator: "; "))")
        #expect(Set(idForSeq.keys) == Set(1...max(1, events)), "seqs outside 1...\(events): \(Set(idForSeq.keys).subtracting(1...events).sorted().prefix(20))")
    }
}

/// The highest `event seq N:` line in a firmware log so far, read incrementally (the log grows to
/// megabytes over a run; each poll reads only what was appended since the last).
struct LoggedProgress {
    let path: String
    private var offset: UInt64 = 0
    private var carry: [UInt8] = []
    private var last = 0

    init(path: String) { self.path = path }

    mutating func lastSeq() -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else { return last }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd(), !data.isEmpty else { return last }
        offset += UInt64(data.count)
        var bytes = carry + Array(data)
        // Keep an unfinished last line for the next read.
        if let end = bytes.lastIndex(of: UInt8(ascii: "\n")) {
            carry = Array(bytes[(end + 1)...])
            bytes.removeSubrange((end + 1)...)
        } else {
            carry = bytes
            return last
        }
        let marker = Array("] event seq ".utf8)
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            guard let start = line.firstRange(of: marker)?.upperBound else { continue }
            let digits = line[start...].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            if let seq = Int(String(decoding: digits, as: UTF8.self)) { last = max(last, seq) }
        }
        return last
    }
}
