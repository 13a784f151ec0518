import Foundation
import Testing
@testable import Hardware

/// `[fill.sensors.<compartment>]` and `[fill.buttons.<compartment>]` in board profiles.
extension BoardProfileTests {
    static let sensor = minimal + """

        [fill.sensors.other]
        trigger = 5
        echo = 6
        empty_cm = 60
        full_cm = 10
        """

    static let button = minimal + """

        [fill.buttons.other]
        line = 16
        """

    @Test func fillSensorsAndButtonsParseWithTheirDefaults() throws {
        let profile = try BoardProfile.parse(Self.sensor + "\npings = 7\npoll_s = 120\n[fill.buttons.other]\nline = 16\n", file: "fill.toml")
        #expect(profile.fill.sensors["other"] == BoardProfile.FillSensorLines(
            trigger: 5, echo: 6, emptyCentimetres: 60, fullCentimetres: 10, pings: 7, pollInterval: .seconds(120)))
        #expect(profile.fill.buttons["other"] == BoardProfile.ButtonLine(offset: 16, activeLow: true, bias: .pullUp,
                                                                          debounce: .milliseconds(20)))
        let sensors = profile.fillSensorConfigurations(temperatureCelsius: 30)
        #expect(sensors.count == 1)
        #expect(sensors.first?.lines == "gpiochip0:5/6" && sensors.first?.compartment == "other")
        #expect(sensors.first?.gauge == FillGauge(emptyCentimetres: 60, fullCentimetres: 10,
                                                   ranging: UltrasonicRanging(temperatureCelsius: 30)))
        #expect(sensors.first?.pings == 7 && sensors.first?.pollInterval == .seconds(120))
        #expect(profile.emptiedButtonConfigurations.map(\.line) == ["gpiochip0:16"])
        // The doctor checks every configured line.
        let roles = Dictionary(uniqueKeysWithValues: profile.lineRoles.map { ($0.role, $0.offset) })
        #expect(roles["fill sensor other trigger"] == 5 && roles["fill sensor other echo"] == 6)
        #expect(roles["emptied button other"] == 16 && roles["lid"] == 17)

        let defaults = try BoardProfile.parse(Self.sensor, file: "fill.toml")
        #expect(defaults.fill.sensors["other"]?.pings == 5 && defaults.fill.sensors["other"]?.pollInterval == .seconds(30))
        let tuned = try BoardProfile.parse(Self.button + "\nactive_low = false\nbias = \"pull-down\"\ndebounce_ms = 50", file: "b.toml")
        #expect(tuned.fill.buttons["other"] == BoardProfile.ButtonLine(offset: 16, activeLow: false, bias: .pullDown,
                                                                        debounce: .milliseconds(50)))
        #expect(try BoardProfile.parse(Self.minimal, file: "min.toml").fill == BoardProfile.Fill())
    }

    /// The commented example at the end of each shipped profile, uncommented, parses.
    @Test(arguments: shipped) func shippedProfileFillExampleParsesWhenUncommented(name: String) throws {
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("board/\(name).toml"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("# Fill level hardware") }) else {
            Issue.record("board/\(name).toml has no fill example")
            return
        }
        let uncommented = lines.enumerated().map { index, line -> Substring in
            index > start && line.range(of: #"^# ([a-z_]+ = |\[)"#, options: .regularExpression) != nil ? line.dropFirst(2) : line
        }.joined(separator: "\n")
        let profile = try BoardProfile.parse(uncommented, file: "\(name).toml")
        #expect(profile.fill.sensors["recyclable"]?.emptyCentimetres == 60)
        #expect(profile.fill.buttons["recyclable"]?.offset == 16)
    }

    @Test(arguments: [
        (sensor + "\npings = 16", "bad.toml:15: fill.sensors.other.pings: expected an integer in 1…15, got 16.0"),
        (sensor + "\npoll_s = 0", "bad.toml:15: fill.sensors.other.poll_s: expected an integer in 1…86400, got 0.0"),
        (sensor + "\npoll = 5", "bad.toml:15: unknown key 'fill.sensors.other.poll'"),
        (sensor.replacingOccurrences(of: "full_cm = 10", with: "full_cm = 70"),
         "bad.toml:14: fill.sensors.other.full_cm: 70.0 cm must be less than fill.sensors.other.empty_cm (60.0 cm): the sensor looks down, so fuller is closer"),
        (sensor.replacingOccurrences(of: "full_cm = 10", with: "full_cm = 1"),
         "bad.toml:14: fill.sensors.other.full_cm: 1.0 cm is inside the HC-SR04's 2 cm blind zone"),
        (sensor.replacingOccurrences(of: "empty_cm = 60", with: "empty_cm = 500"),
         "bad.toml:13: fill.sensors.other.empty_cm: 500.0 cm is beyond the HC-SR04's 400 cm range"),
        (sensor.replacingOccurrences(of: "empty_cm = 60", with: "empty_cm = \"60\""),
         "bad.toml:13: fill.sensors.other.empty_cm: expected a number"),
        (sensor.replacingOccurrences(of: "echo = 6\n", with: ""),
         "bad.toml:11: fill.sensors.other.echo is required (the HC-SR04's echo line offset, through a divider)"),
        (sensor.replacingOccurrences(of: "echo = 6", with: "echo = 600"),
         "bad.toml:12: fill.sensors.other.echo: expected an integer in 0…511, got 600.0"),
        (sensor.replacingOccurrences(of: "[fill.sensors.other]", with: "[fill.sensors.cellar]"),
         "bad.toml:11: [fill.sensors.cellar]: no compartment 'cellar' in [servo.angles] (have: other)"),
        (sensor.replacingOccurrences(of: "echo = 6", with: "echo = 17"), "bad.toml: gpio line 17 is used for both lid and fill sensor other echo"),
        (button + "\nbias = \"up\"", "bad.toml:12: fill.buttons.other.bias: 'up' is not one of as-is, disable, pull-up, pull-down"),
        (button + "\nactive_low = 1", "bad.toml:12: fill.buttons.other.active_low: expected true or false"),
        (button + "\ndebounce_ms = 5000", "bad.toml:12: fill.buttons.other.debounce_ms: expected an integer in 0…1000, got 5000.0"),
        (button.replacingOccurrences(of: "line = 16", with: "active_low = true"),
         "bad.toml:11: fill.buttons.other.line is required (the button's line offset)"),
        (sensor + "\n[fill.buttons.other]\nline = 5", "bad.toml: gpio line 5 is used for both fill sensor other trigger and emptied button other"),
    ])
    func badFillKeysAreNamedWithTheirLine(text: String, message: String) {
        let error = #expect(throws: HardwareError.self) { try BoardProfile.parse(text, file: "bad.toml") }
        #expect(error?.code == .profile)
        #expect(error?.message == message)
    }
}
