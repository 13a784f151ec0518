import BinCore
import BinTestKit
import Testing

@Suite struct BinMapTests {
    let map: BinMap

    init() throws {
        map = try BinMap(labels: TestBins.trashnetMap, config: TestBins.config)
    }

    func classification(_ label: String, _ index: Int, _ confidence: Double) -> Classification {
        Classification(label: label, classIndex: index, confidence: confidence, top: [])
    }

    @Test func confidentMappedClassGoesToItsCompartment() {
        #expect(map.route(classification("glass", 1, 0.6)) == Route(bin: "recyclable", angleDegrees: 45, fallback: false))
    }

    @Test func confidenceBelowThresholdFallsBack() {
        #expect(map.route(classification("glass", 1, 0.5999)).fallback)
    }

    @Test func unknownIndexIsLookedUpByLabelThenFallsBack() {
        #expect(map.route(classification("metal", 99, 0.9)).bin == "recyclable")
        #expect(map.route(classification("mystery", 99, 0.9)) == Route(bin: "other", angleDegrees: -45, fallback: true))
    }

    @Test func fallbackBinWithoutAngleIsAConfigError() {
        var config = TestBins.config
        config.routing.fallbackBin = "landfill"
        #expect(throws: BinCoreError.self) { try BinMap(labels: TestBins.trashnetMap, config: config) }
    }

    @Test func binsWithoutAnAngleAreListed() throws {
        var config = TestBins.config
        config.flap.angles = ["other": 90]
        #expect(try BinMap(labels: TestBins.trashnetMap, config: config).unplacedBins == ["recyclable"])
    }
}

@Suite struct RetryPolicyTests {
    @Test func backoffDoublesUpToTheCap() {
        let policy = RetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(500), multiplier: 2, maxBackoff: .seconds(3))
        #expect((1...5).map(policy.backoff(forAttempt:)) == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(3), .seconds(3)])
    }
}

@Suite struct UUIDv4Tests {
    @Test func idsAreVersion4InCanonicalForm() {
        let id = UUIDv4.random()
        let parts = id.split(separator: "-").map(\.count)
        #expect(parts == [8, 4, 4, 4, 12])
        #expect(Array(id)[14] == "4")
        #expect("89ab".contains(Array(id)[19]))
        #expect(UUIDv4.random() != id)
    }
}

@Suite struct DurationTextTests {
    @Test func parsesTheUnitsScenariosUse() {
        #expect(Duration(parsing: "250ms") == .milliseconds(250))
        #expect(Duration(parsing: "1.5s") == .milliseconds(1500))
        #expect(Duration(parsing: "2m") == .seconds(120))
        #expect(Duration(parsing: "fast") == nil)
        #expect(Duration(parsing: "-1s") == nil)
    }
}
