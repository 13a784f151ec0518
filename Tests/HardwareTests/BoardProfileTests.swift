import Foundation
import Testing
@testable import Hardware

@Suite struct BoardProfileTests {
    static let shipped = ["pi4", "pi5", "zero2w", "generic"]

    @Test(arguments: shipped) func shippedProfileParses(name: String) throws {
        let path = Fixtures.repositoryRoot.appendingPathComponent("board/\(name).toml").path
        let profile = try BoardProfile.load(path: path)
        #expect(profile.name == name)
        #expect(profile.servo.angles["recyclable"] != nil && profile.servo.angles["other"] != nil)
        #expect(profile.lidTrigger?.rising == .lidOpened)
        #expect(profile.beamTrigger?.rising == .beamBroken)
        #expect(profile.ultrasonicTrigger()?.echoOffset == 24)
        #expect(profile.flapProfile.homeDegrees == profile.servo.homeDegrees)
        if name != "generic" { #expect(profile.configTxt.contains { $0.hasPrefix("dtoverlay=pwm") }) }
    }

    @Test func pi5NamesTheRP1ChipAndResolvesItsPWMChip() throws {
        let profile = try BoardProfile.load(path: Fixtures.repositoryRoot.appendingPathComponent("board/pi5.toml").path)
        #expect(profile.gpio.chip == "pinctrl-rp1")
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path, chips: [0: "1f00098000.pwm", 1: "1f0009c000.pwm"])
        #expect(profile.flapConfiguration(root: dir.path, io: sysfs).chip == 0)  // 6.12 numbering
        let empty = try TempDirectory(); defer { empty.remove() }
        #expect(profile.flapConfiguration(root: empty.path, io: sysfs).chip == 2)  // falls back to pwm.chip
    }

    static let minimal = """
        [board]
        name = "test"
        [gpio]
        chip = "gpiochip0"
        lid = 17
        [servo]
        home_degrees = 90
        [servo.angles]
        other = 120
        """

    @Test func defaultsFillEverythingElse() throws {
        let profile = try BoardProfile.parse(Self.minimal, file: "min.toml")
        #expect(profile.camera.device == "/dev/video0" && profile.camera.pixelFormat == .mjpeg)
        #expect(profile.servo.calibration == ServoCalibration())
        #expect(profile.gpio.debounce == .milliseconds(20) && profile.gpio.beam == nil)
        #expect(profile.groups == ["gpio", "video"])
    }

    @Test(arguments: [
        ("name = \"x\"\n[gpio\n", "bad.toml:2: malformed section header '[gpio'"),
        (minimal + "\nlid_bias = \"up\"", "bad.toml:10: servo.angles.lid_bias: expected a number"),
        (minimal.replacingOccurrences(of: "lid = 17", with: "lid = 17\nlid_bias = \"up\""), "bad.toml:6: gpio.lid_bias: 'up' is not one of as-is, disable, pull-up, pull-down"),
        (minimal.replacingOccurrences(of: "lid = 17", with: "lid = 17\nbeem = 4"), "bad.toml:6: unknown key 'gpio.beem'"),
        (minimal.replacingOccurrences(of: "other = 120", with: "other = 200"), "bad.toml:9: servo.angles.other: 200.0° is outside servo.min_degrees…servo.max_degrees (0.0…180.0)"),
        (minimal.replacingOccurrences(of: "lid = 17", with: "lid = 17\nbeam = 17"), "bad.toml: gpio line 17 is used for both lid and beam"),
        (minimal.replacingOccurrences(of: "chip = \"gpiochip0\"", with: "chip = gpiochip0"), "bad.toml:4: gpio.chip: cannot read value 'gpiochip0' (strings need double quotes)"),
        (minimal.replacingOccurrences(of: "home_degrees = 90\n", with: ""), "bad.toml: servo.home_degrees: missing (required)"),
        (minimal.replacingOccurrences(of: "lid = 17", with: "lid = 17\nlid = 18"), "bad.toml:6: duplicate key 'gpio.lid' (first on line 5)"),
    ])
    func badFilesNameFileLineAndKey(text: String, message: String) {
        let error = #expect(throws: HardwareError.self) { try BoardProfile.parse(text, file: "bad.toml") }
        #expect(error?.code == .profile)
        #expect(error?.message == message)
    }

    @Test func missingFileNamesThePath() {
        let error = #expect(throws: HardwareError.self) { try BoardProfile.load(path: "/nonexistent/board.toml") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("/nonexistent/board.toml") == true)
    }
}
