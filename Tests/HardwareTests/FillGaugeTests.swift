import Testing
@testable import Hardware

@Suite struct FillGaugeTests {
    /// The fixture's readings, each a list of pings (trigger time, echo edges).
    func readings() throws -> [[(edges: [GPIOEdge], trigger: Duration?)]] {
        var result: [[(edges: [GPIOEdge], trigger: Duration?)]] = []
        for item in try Fixtures.edges("hcsr04_fill.edges") {
            if let marker = item.marker, marker.hasPrefix("reading ") {
                result.append([])
            } else if let marker = item.marker, marker.hasPrefix("ping "), let ns = Int64(marker.dropFirst(5)) {
                result[result.count - 1].append(([], .nanoseconds(ns)))
            } else if let edge = item.edge {
                let last = result.count - 1
                result[last][result[last].count - 1].edges.append(edge)
            }
        }
        return result
    }

    @Test func recordedEchoTimingsGiveLevelsBetweenTheEmptyAndFullDistances() throws {
        let gauge = FillGauge(emptyCentimetres: 60, fullCentimetres: 10)
        let levels = try readings().map { gauge.level(pings: $0) }
        #expect(levels.count == 4)
        // Medians 59.95 cm (a lost ping), 35.1 cm (a stray 120 cm echo), 12.5 cm, and too close.
        let expected = [0.001, 0.498, 0.95, 1.0]
        for (level, want) in zip(levels, expected) {
            #expect(abs((level ?? -1) - want) < 0.002, "level \(String(describing: level)), expected \(want)")
        }
    }

    @Test func levelsAreClampedAndUnreliableReadingsGiveNone() {
        let gauge = FillGauge(emptyCentimetres: 60, fullCentimetres: 10)
        #expect(gauge.level(.distance(centimetres: 75)) == 0)     // deeper than the floor: empty
        #expect(gauge.level(.distance(centimetres: 5)) == 1)      // above the full mark
        #expect(gauge.level(.distance(centimetres: 35)) == 0.5)
        #expect(gauge.level(.tooClose(centimetres: 1)) == 1)
        #expect(gauge.level(.tooFar(centimetres: 700)) == nil)
        #expect(gauge.level(.noEcho) == nil)
    }

    @Test func geometryIsValidated() {
        #expect(throws: HardwareError.self) { try FillGauge(emptyCentimetres: 10, fullCentimetres: 60).validate("fill.other") }
        #expect(throws: HardwareError.self) { try FillGauge(emptyCentimetres: 60, fullCentimetres: 1).validate("fill.other") }
        #expect(throws: Never.self) { try FillGauge(emptyCentimetres: 60, fullCentimetres: 10).validate("fill.other") }
    }
}
