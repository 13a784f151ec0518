import BinTestKit
import Dashboard
import Foundation
import Telemetry
import Testing

/// The real `smartbin-dashboard` binary, a real mosquitto and headless Chromium: the fleet page
/// shows events published after it loaded, without a reload.
@Suite(.enabled(if: EndToEnd.canBrowse,
                "needs mosquitto, chromium (tools/setup.sh installs it), python3 and .build/debug/smartbin-dashboard (swift build)"),
       .timeLimit(.minutes(2)))
struct BrowserTests {
    @Test func fleetPageShowsNewEventsWithoutReload() async throws {
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let database = try Fixtures.databasePath()
        let dashboard = try ChildProcess(EndToEnd.dashboard!, [
            "--broker", "127.0.0.1:\(broker.port)", "--http", "127.0.0.1:0", "--db", database,
            "--client-id", "dashboard-browser-test"])
        defer { dashboard.signal(SIGKILL) }
        @Sendable func listening() -> String? {
            dashboard.output.firstMatch(of: /listening on (http:\/\/127\.0\.0\.1:\d+)/).map { String($0.1) }
        }
        _ = await eventually(timeout: .seconds(15)) { listening() != nil }
        let url = listening()
        let base = try #require(url, "the dashboard did not start:\n\(dashboard.output)")

        func publish(_ bin: String, seq: UInt64, id: String) async throws {
            let payload = Fixtures.event(id: id, bin: bin, seq: seq, timestamp: Date().timeIntervalSince1970,
                                         route: seq % 3 == 0 ? "other" : "recyclable", fallback: seq % 5 == 0)
            try await BrokerSubscriber.publish(port: broker.port, topic: TopicLayout(fleet: "f1", binID: bin).event,
                                               payload: String(decoding: payload, as: UTF8.self))
        }
        try await BrokerSubscriber.publish(port: broker.port, topic: "smartbin/f1/bin-1/available", payload: "online", retain: true)
        try await publish("bin-1", seq: 1, id: "before-load")

        let idsFile = FileManager.default.temporaryDirectory.appendingPathComponent("smartbin-ids-\(UUID().uuidString)").path
        let screenshot = FileManager.default.temporaryDirectory.appendingPathComponent("smartbin-dashboard-\(UUID().uuidString).png").path
        let script = Fixtures.packageRoot.appendingPathComponent("tools/dashboard_browser_check.py").path
        let check = try ChildProcess(URL(fileURLWithPath: EndToEnd.python!), [
            script, "--url", base + "/", "--expect-ids-file", idsFile, "--timeout", "60",
            "--screenshot", screenshot, "--chromium", EndToEnd.chromium!])
        defer { check.signal(SIGKILL) }
        #expect(await eventually(timeout: .seconds(60)) { check.output.contains("READY") || !check.process.isRunning },
                "browser never got ready:\n\(check.output)")
        try #require(check.output.contains("READY"), "browser check:\n\(check.output)")

        // Published after the page loaded: only the live stream can bring these in.
        var ids: [String] = []
        for seq in 2...6 {
            let bin = seq % 2 == 0 ? "bin-1" : "bin-2"
            let id = "live-\(seq)-\(UUID().uuidString.prefix(8))"
            try await publish(bin, seq: UInt64(seq), id: id)
            ids.append(id)
        }
        try (ids.joined(separator: "\n") + "\n").write(toFile: idsFile + ".tmp", atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: idsFile + ".tmp", toPath: idsFile)

        #expect(await check.waitForExit(timeout: .seconds(60)), "browser check hung:\n\(check.output)")
        #expect(check.process.terminationStatus == 0, "browser check failed:\n\(check.output)\ndashboard:\n\(dashboard.output)")
        #expect(check.output.contains("OK expected=5"))
        #expect(FileManager.default.fileExists(atPath: screenshot))
        try? FileManager.default.removeItem(atPath: screenshot)

        // SIGTERM with the page's event stream just closed: a clean, prompt exit.
        dashboard.signal(SIGTERM)
        #expect(await dashboard.waitForExit(timeout: .seconds(10)), "no graceful exit:\n\(dashboard.output)")
        #expect(dashboard.process.terminationStatus == 0)
    }
}
