import BinCore
import Foundation
import Testing
@testable import Hardware

/// The adapters' error paths on a machine without the hardware, and gated smoke tests that run
/// only where the devices exist.
@Suite struct DeviceErrorTests {
    static let hasGPIO = devicePresent("gpiochip")
    static let hasVideo = FileManager.default.fileExists(atPath: "/dev/video0")

    @Test(.enabled(if: !hasGPIO, "this machine has /dev/gpiochip*: the missing-chip path cannot be shown"),
          arguments: ["gpiochip0", "/dev/gpiochip0"])
    func missingGPIOChipNamesTheChipAndOffset(chip: String) {
        let error = #expect(throws: HardwareError.self) {
            _ = try GPIOTriggerSource(.init(chip: chip, offset: 17, rising: .lidOpened, falling: .lidClosed))
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "\(chip):17: gpiod_chip_open_lookup failed: No such file or directory (errno 2)")
    }

    @Test(.enabled(if: !hasGPIO, "this machine has /dev/gpiochip*"))
    func missingChipForUltrasonicAndByLabel() {
        // The trigger line is opened first, so it is the one named.
        let error = #expect(throws: HardwareError.self) {
            _ = try UltrasonicTrigger(.init(chip: "pinctrl-rp1", triggerOffset: 23, echoOffset: 24))
        }
        #expect(error?.code == .notFound)
        #expect(error?.message.hasPrefix("pinctrl-rp1:23: gpiod_chip_open_lookup failed") == true, "\(String(describing: error))")
    }

    static func noDecode(_ bytes: [UInt8], _ width: Int, _ height: Int) throws -> Frame {
        Frame(width: width, height: height, rgb: [UInt8](repeating: 0, count: width * height * 3), origin: "")
    }

    @Test(.enabled(if: !hasVideo, "this machine has /dev/video0"))
    func missingCameraNamesTheDevice() {
        let error = #expect(throws: HardwareError.self) {
            _ = try V4L2Camera(.init(device: "/dev/video0"), decodeMJPEG: Self.noDecode, convertYUYV: Self.noDecode)
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "/dev/video0: open failed: No such file or directory (errno 2)")
    }

    @Test func nonV4L2NodeFailsQueryCap() {
        let error = #expect(throws: HardwareError.self) {
            _ = try V4L2Camera(.init(device: "/dev/null"), decodeMJPEG: Self.noDecode, convertYUYV: Self.noDecode)
        }
        #expect(error?.code == .unsupported)
        #expect(error?.message.hasPrefix("/dev/null: open failed: not a V4L2 device (VIDIOC_QUERYCAP") == true)
    }

    // MARK: Gated: only on a board with the devices.

    @Test(.enabled(if: hasGPIO, "no /dev/gpiochip* on this machine (no GPIO hardware; gpio-sim unavailable)"))
    func gpioChipProbeListsLines() throws {
        let chip = try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { $0.hasPrefix("gpiochip") }.sorted()[0]
        let summary = try GPIOChipSummary.probe(chip: chip, offsets: [0])
        #expect(summary.lineCount > 0)
    }

    @Test(.enabled(if: hasVideo, "no /dev/video0 on this machine (no camera; v4l2loopback unavailable)"))
    func cameraDeliversAFrame() async throws {
        let camera = try V4L2Camera(.init(device: "/dev/video0", pixelFormat: .yuyv, warmupFrames: 2),
                                    decodeMJPEG: Self.noDecode, convertYUYV: FrameAssembler.imagingYUYV)
        defer { camera.stop() }
        let frame = try await camera.capture()
        #expect(frame.origin == "/dev/video0" && frame.width > 0)
        #expect(camera.health == .ok)
    }
}

@Suite struct DoctorTests {
    static let profileText = """
        [board]
        name = "t"
        config_txt = ["dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4"]
        [gpio]
        chip = "gpiochip0"
        lid = 17
        [pwm]
        chip = 0
        channel = 0
        device = "fe20c000.pwm"
        [servo]
        home_degrees = 90
        ms_per_60_degrees = 10
        settle_ms = 0
        [servo.angles]
        recyclable = 45
        other = 135
        [camera]
        device = "/nonexistent/video0"
        """

    @Test func reportsMissingGPIOAndCameraAndAHealthyPWMWithoutMovingTheFlap() async throws {
        let dev = try TempDirectory(); defer { dev.remove() }
        let sys = try TempDirectory(); defer { sys.remove() }
        let sysfs = try FakePWMSysfs(root: sys.path)
        let profile = try BoardProfile.parse(Self.profileText, file: "t.toml")
        let findings = await Doctor(profile: profile, devRoot: dev.path, pwmRoot: sys.path, io: sysfs).run()
        #expect(findings.map(\.status) == [.fail, .ok, .fail])
        #expect(findings[0].message.contains("gpiochip"))
        #expect(findings[1].check == "pwm \(sys.path)/pwmchip0/pwm0")
        #expect(findings[2].message.contains("/nonexistent/video0 does not exist"))
        #expect(sysfs.writes.isEmpty)
    }

    @Test func missingPWMChipSuggestsTheOverlayAndFlapTestMovesEveryCompartment() async throws {
        let dev = try TempDirectory(); defer { dev.remove() }
        let sys = try TempDirectory(); defer { sys.remove() }
        let empty = try FakePWMSysfs(root: sys.path, chips: [:])
        let profile = try BoardProfile.parse(Self.profileText, file: "t.toml")
        let missing = Doctor(profile: profile, devRoot: dev.path, pwmRoot: sys.path, io: empty).checkPWM()
        #expect(missing.last?.status == .fail)
        #expect(missing.last?.fix?.contains("dtoverlay=pwm-2chan") == true)

        let sysfs = try FakePWMSysfs(root: sys.path + "/ok")
        let hook: @Sendable () async -> [DoctorFinding] = { [DoctorFinding(.warn, "broker", "not configured")] }
        let findings = await Doctor(profile: profile, devRoot: dev.path, pwmRoot: sys.path + "/ok", io: sysfs,
                                    extraChecks: [hook]).run(flapTest: true)
        #expect(findings.filter { $0.check.hasPrefix("flap") }.map(\.check) == ["flap recyclable", "flap other", "flap home"])
        #expect(findings.last?.check == "broker")
        #expect(sysfs.relativeWrites.last == "pwmchip0/pwm0/enable=0")
    }
}
