import Testing
@testable import Hardware

@Suite struct UltrasonicRangingTests {
    /// Splits the fixture into pings: (trigger time, echo edges).
    func pings() throws -> [(trigger: Duration, edges: [GPIOEdge])] {
        var result: [(Duration, [GPIOEdge])] = []
        for item in try Fixtures.edges("hcsr04_pings.edges") {
            if let marker = item.marker, marker.hasPrefix("ping "), let ns = Int64(marker.dropFirst(5)) {
                result.append((.nanoseconds(ns), []))
            } else if let edge = item.edge {
                result[result.count - 1].1.append(edge)
            }
        }
        return result
    }

    @Test func recordedPingsGiveDistancesAndOutOfRangeReadings() throws {
        let ranging = UltrasonicRanging()
        let readings = try pings().map { ranging.reading(edges: $0.edges, trigger: $0.trigger) }
        #expect(readings.count == 7)
        let expected: [Double?] = [31.8, 32.1, 31.9, nil, 120.0, nil, nil]
        for (reading, cm) in zip(readings, expected) {
            if let cm { #expect(abs((reading.centimetres ?? -1) - cm) < 0.01) }
        }
        #expect(readings[3] == .noEcho)
        guard case .tooFar(let far) = readings[5] else { Issue.record("38 ms echo should be too far"); return }
        #expect(far > 600)
        guard case .tooClose(let close) = readings[6] else { Issue.record("100 µs echo should be too close"); return }
        #expect(abs(close - 1.716) < 0.01)
    }

    @Test func medianIgnoresOutliersAndLostPings() throws {
        let ranging = UltrasonicRanging()
        let readings = try pings().prefix(5).map { ranging.reading(edges: $0.edges, trigger: $0.trigger) }
        // 31.8, 32.1, 31.9, no echo, 120 → four in range, median of the in-range ones.
        #expect(abs((ranging.median(of: readings).centimetres ?? 0) - 32.0) < 0.01)
        #expect(ranging.median(of: [.noEcho, .noEcho, .distance(centimetres: 10)]) == .noEcho)
        #expect(ranging.median(of: [.tooFar(centimetres: 600), .tooFar(centimetres: 700), .noEcho]) == .tooFar(centimetres: 650))
    }

    @Test func speedOfSoundFollowsTemperature() {
        #expect(abs(UltrasonicRanging(temperatureCelsius: 20).speedOfSound - 343.2) < 0.1)
        #expect(abs(UltrasonicRanging(temperatureCelsius: 0).speedOfSound - 331.3) < 0.01)
        // The same 1 ms echo reads shorter in cold air.
        let warm = UltrasonicRanging(temperatureCelsius: 30).reading(echoWidth: .milliseconds(1)).centimetres!
        let cold = UltrasonicRanging(temperatureCelsius: -10).reading(echoWidth: .milliseconds(1)).centimetres!
        #expect(warm > cold)
        #expect(abs(UltrasonicRanging().reading(echoWidth: .milliseconds(1)).centimetres! - 17.16) < 0.01)
    }

    @Test func edgesBeforeTheTriggerOrAfterTheTimeoutAreIgnored() {
        let ranging = UltrasonicRanging(echoTimeout: .milliseconds(30))
        let stale = [GPIOEdge(.rising, at: .milliseconds(5)), GPIOEdge(.falling, at: .milliseconds(8)),
                     GPIOEdge(.rising, at: .milliseconds(50)), GPIOEdge(.falling, at: .milliseconds(51))]
        #expect(ranging.echoWidth(in: stale, trigger: .milliseconds(10)) == nil)
        #expect(ranging.echoWidth(in: stale, trigger: nil) == .milliseconds(3))
    }

    @Test func proximityDetectorReportsArrivalOnceWithHysteresis() {
        var detector = ProximityDetector(thresholdCentimetres: 20, hysteresisCentimetres: 3)
        let r1 = detector.update(.distance(centimetres: 40))
        #expect(!r1)
        let r2 = detector.update(.distance(centimetres: 15))
        #expect(r2)
        let r3 = detector.update(.distance(centimetres: 12))
        #expect(!r3)
        let r4 = detector.update(.distance(centimetres: 22))
        #expect(!r4)  // within hysteresis: still near
        let r5 = detector.update(.noEcho)
        #expect(!r5)
        let r6 = detector.update(.distance(centimetres: 19))
        #expect(!r6)
        let r7 = detector.update(.tooFar(centimetres: 700))
        #expect(!r7)
        let r8 = detector.update(.tooClose(centimetres: 1))
        #expect(r8)
    }
}
