import BinCore
import Foundation
import Synchronization
import Testing
@testable import Hardware

/// Plays recorded HC-SR04 pings back, one per `ping` call (then silence: no echo).
final class RecordedPinger: EchoPinger {
    let lines: String
    private var pings: [EchoPing]
    private(set) var fired = 0

    init(lines: String = "gpiochip0:5/6", pings: [EchoPing]) {
        self.lines = lines
        self.pings = pings
    }

    func ping(echoTimeout: Duration) throws(HardwareError) -> EchoPing {
        fired += 1
        return pings.isEmpty ? EchoPing(edges: [], trigger: nil) : pings.removeFirst()
    }

    /// The pings of an `.edges` fixture in which `reading <n>` starts each poll and `ping <ns>` each ping.
    static func polls(_ fixture: String) throws -> [[EchoPing]] {
        var polls: [[EchoPing]] = []
        for item in try Fixtures.edges(fixture) {
            if let marker = item.marker, marker.hasPrefix("reading ") {
                polls.append([])
            } else if let marker = item.marker, marker.hasPrefix("ping "), let ns = Int64(marker.dropFirst(5)) {
                polls[polls.count - 1].append(EchoPing(edges: [], trigger: .nanoseconds(ns)))
            } else if let edge = item.edge {
                let last = polls.count - 1
                polls[last][polls[last].count - 1].edges.append(edge)
            }
        }
        return polls
    }
}

@Suite struct FillSensorPollerTests {
    static let other = UltrasonicFillSensors.Configuration(
        compartment: "other", chip: "gpiochip0", triggerOffset: 5, echoOffset: 6,
        gauge: FillGauge(emptyCentimetres: 60, fullCentimetres: 10), pings: 5, pollInterval: .seconds(30))

    /// The recorded polls, driven through the poller on a manual clock; the levels it reports go
    /// into the fill tracking as the controller feeds them.
    @Test func recordedEchoesDriveLevelsAndASharpDropEmpties() throws {
        let polls = try RecordedPinger.polls("hcsr04_fill_poll.edges")
        #expect(polls.count == 10 && polls.allSatisfy { $0.count == 5 })
        let pinger = RecordedPinger(pings: polls.flatMap { $0 })
        var opened = 0
        var poller = FillSensorPoller([Self.other], start: .seconds(100)) { _ throws(HardwareError) in
            opened += 1
            return pinger
        }
        var tracker = FillTracker(config: FillConfig(), compartments: ["other", "paper"])
        var paused: Duration = .zero
        var levels: [Double] = []
        var logs: [FillSensorChannel.LogLine] = []
        var alerts: [FillAlert] = []
        var now: Duration = .seconds(100)
        for _ in polls {
            #expect(poller.nextDue == now)
            // Not due yet a moment before: nothing is pinged.
            #expect(poller.poll(now: now - .milliseconds(1), pause: { _ in }).observations.isEmpty)
            let report = poller.poll(now: now, pause: { paused += $0 })
            for observation in report.observations {
                #expect(observation.compartment == "other" && observation.source == "gpiochip0:5/6")
                guard case .level(let level) = observation.kind else { continue }
                levels.append(level)
                alerts += tracker.measured(observation.compartment, level: level)
            }
            logs += report.logs.map(\.line)
            now += .seconds(30)
        }
        #expect(opened == 1 && pinger.fired == 50)
        #expect(paused == .milliseconds(60 * 50))  // 60 ms after every ping
        // 30 %, 36 %, (a stray 90 % held back), 38 %, (no echo twice), 92 % held, 93 % confirmed,
        // 4 % held, 3 % confirmed.
        let expected = [0.3, 0.36, 0.38, 0.93, 0.03]
        #expect(levels.count == expected.count, "levels \(levels)")
        for (level, want) in zip(levels, expected) { #expect(abs(level - want) < 0.001, "levels \(levels)") }
        #expect(alerts.map(\.kind) == [.nearlyFull, .emptied], "alerts \(alerts)")
        #expect(alerts.allSatisfy { $0.source == .sensor && $0.compartment == "other" })
        #expect(abs((alerts.last?.previousLevel ?? 0) - 0.93) < 0.001)
        #expect(tracker.view["other"]?.items == 0 && tracker.view["other"]?.status == "ok")

        let warnings = logs.filter { $0.severity == .warning }
        #expect(warnings.count == 1, "only the first of two silent polls is logged: \(logs)")
        #expect(warnings.first?.message == "fill sensor other (gpiochip0:5/6): no echo in 5 of 5 pings (check the echo wiring and its divider); keeping the last level, 38%")
        #expect(logs.contains(FillSensorChannel.LogLine(.notice, "fill sensor other (gpiochip0:5/6) reads again (92%) after 2 failed reading(s): no echo")))
        // Three jumps held back: two logged at debug, the third (92 %) in the notice above.
        #expect(logs.filter { $0.severity == .debug }.count == 2)
    }

    @Test func aSensorWhoseLinesFailIsLoggedAndRetriedWhileTheOthersReport() throws {
        let paper = UltrasonicFillSensors.Configuration(
            compartment: "paper", chip: "gpiochip0", triggerOffset: 7, echoOffset: 8,
            gauge: FillGauge(emptyCentimetres: 60, fullCentimetres: 10), pings: 5, pollInterval: .seconds(10))
        let polls = try RecordedPinger.polls("hcsr04_fill.edges")  // 60, 35.1, 12.5 cm, too close
        let pinger = RecordedPinger(pings: polls.flatMap { $0 })
        var attempts: [String: Int] = [:]
        var poller = FillSensorPoller([Self.other, paper], start: .zero) { sensor throws(HardwareError) in
            attempts[sensor.compartment, default: 0] += 1
            guard sensor.compartment == "other" else {
                throw HardwareError(.busy, "gpiochip0:7: line is busy (held by 'gpioset')")
            }
            return pinger
        }
        var reports: [FillSensorPoller.Report] = []
        var now: Duration = .zero
        while now <= .seconds(30) {
            reports.append(poller.poll(now: now, pause: { _ in }))
            now += .seconds(10)
        }
        // `paper` is tried every 10 s and logged once, as an error naming it and its lines;
        // `other` (every 30 s) reads on.
        #expect(attempts == ["other": 1, "paper": 4])
        let errors = reports.flatMap(\.logs).filter { $0.line.severity == .error }
        #expect(errors.count == 1)
        #expect(errors.first?.sensor.compartment == "paper")
        #expect(errors.first?.line.message == "fill sensor paper (gpiochip0:7/8): lines not available: gpiochip0:7: line is busy (held by 'gpioset'); requested again at the next poll; no level yet")
        let levels = reports.flatMap(\.observations).compactMap { observation -> Double? in
            if case .level(let level) = observation.kind { return level } else { return nil }
        }
        // 0 % then a jump to 50 % held back (only two polls of `other` in 30 s).
        #expect(levels.count == 1 && abs(levels[0] - 0.001) < 0.002, "\(levels)")
        #expect(poller.reported["paper"] == nil)
    }

    @Test func aReadingBeyondTheRangeKeepsTheLastLevel() {
        var channel = FillSensorChannel(compartment: "kitchen", lines: "gpiochip0:9/10",
                                        gauge: FillGauge(emptyCentimetres: 60, fullCentimetres: 10))
        let ranging = UltrasonicRanging()
        func ping(_ centimetres: Double?) -> EchoPing {
            guard let centimetres else { return EchoPing(edges: [], trigger: .zero) }
            let width = Duration.nanoseconds(Int64((centimetres / 100 * 2 / ranging.speedOfSound * 1e9).rounded()))
            return EchoPing(edges: [GPIOEdge(.rising, at: .microseconds(460)), GPIOEdge(.falling, at: .microseconds(460) + width)],
                            trigger: .zero)
        }
        #expect(channel.update(Array(repeating: ping(35), count: 5)).level.map { abs($0 - 0.5) < 0.001 } == true)
        let far = channel.update([ping(600), ping(610), ping(35), ping(605), ping(nil)])
        #expect(far.level == nil)
        #expect(far.log?.severity == .warning)
        #expect(far.log?.message.hasPrefix("fill sensor kitchen (gpiochip0:9/10): out of range in 3 of 5 pings (605 cm, beyond the sensor's 400 cm)") == true,
                "\(String(describing: far.log))")
        #expect(far.log?.message.hasSuffix("keeping the last level, 50%") == true)
        #expect(channel.reported.map { abs($0 - 0.5) < 0.001 } == true)
        // The contents right under the sensor read as full, not as a failure.
        let close = channel.update(Array(repeating: ping(1), count: 5))
        #expect(close.level == nil && close.log?.severity == .notice)  // back, but a jump: held
        #expect(channel.update(Array(repeating: ping(1), count: 5)).level == 1)
    }

    /// The adapter's polling thread with recorded echoes and a virtual clock: levels arrive on
    /// the stream; cancelling it stops the thread.
    @Test func pollingThreadReportsLevelsOnItsStream() async throws {
        let polls = try RecordedPinger.polls("hcsr04_fill_poll.edges")
        let virtual = Mutex<Duration>(.seconds(1000))
        let sensors = UltrasonicFillSensors([Self.other], openPinger: { _ throws(HardwareError) in
            RecordedPinger(pings: polls.flatMap { $0 })
        }, now: { virtual.withLock { $0 } }, sleep: { duration in
            virtual.withLock { $0 += duration }
            usleep(200)  // let the test's task run; the thread would otherwise spin
        })
        var levels: [Double] = []
        for await observation in sensors.observations() {
            if case .level(let level) = observation.kind { levels.append(level) }
            if levels.count == 5 { break }
        }
        #expect(levels.map { ($0 * 100).rounded() } == [30, 36, 38, 93, 3])
    }
}
