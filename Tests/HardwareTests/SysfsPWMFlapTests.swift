import Testing
@testable import Hardware

@Suite struct SysfsPWMFlapTests {
    func makeFlap(_ sysfs: FakePWMSysfs, clock: InstantClock, rampSteps: Int = 0,
                  releaseAt: Set<Double>? = nil) -> SysfsPWMFlap<InstantClock> {
        SysfsPWMFlap(.init(root: sysfs.root, chip: 0, channel: 0, calibration: ServoCalibration(),
                           rampSteps: rampSteps, settle: .milliseconds(100), releaseAt: releaseAt, homeDegrees: 90),
                     io: sysfs, clock: clock)
    }

    @Test func firstMoveExportsThenWritesPeriodBeforeDutyThenEnables() async throws {
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path)
        let clock = InstantClock()
        let flap = makeFlap(sysfs, clock: clock)
        try await flap.move(toDegrees: 45)
        #expect(sysfs.relativeWrites == [
            "pwmchip0/export=0",
            "pwmchip0/pwm0/period=20000000",
            "pwmchip0/pwm0/duty_cycle=1000000",   // 500 + 45/180 * 2000 µs
            "pwmchip0/pwm0/enable=1",
        ])
        // Unknown start: waits the full-range travel (180° at 200 ms/60°) plus settle.
        #expect(clock.slept == [.milliseconds(700)])
        #expect(try sysfs.read(dir.path + "/pwmchip0/pwm0/duty_cycle") == "1000000")
    }

    @Test func homeReleasesThePulseAfterSettlingButCompartmentsHold() async throws {
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path)
        let flap = makeFlap(sysfs, clock: InstantClock())
        try await flap.move(toDegrees: 180)
        try await flap.move(toDegrees: 90)
        #expect(Array(sysfs.relativeWrites.suffix(4)) == [
            "pwmchip0/pwm0/duty_cycle=2500000",
            "pwmchip0/pwm0/enable=1",
            "pwmchip0/pwm0/duty_cycle=1500000",
            "pwmchip0/pwm0/duty_cycle=0",
        ])
        // Moving again re-applies a pulse; enable stays 1 and is not rewritten.
        try await flap.move(toDegrees: 0)
        #expect(sysfs.relativeWrites.last == "pwmchip0/pwm0/duty_cycle=500000")
        #expect(sysfs.relativeWrites.filter { $0.hasSuffix("enable=1") }.count == 1)
    }

    @Test func rampWritesEvenStepsAndSpreadsTheTravelTime() async throws {
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path)
        let clock = InstantClock()
        let flap = makeFlap(sysfs, clock: clock, rampSteps: 4, releaseAt: [])
        try await flap.move(toDegrees: 0)
        let before = sysfs.writes.count
        try await flap.move(toDegrees: 120)
        #expect(Array(sysfs.relativeWrites.dropFirst(before)) == [
            "pwmchip0/pwm0/duty_cycle=833333", "pwmchip0/pwm0/duty_cycle=1166667",
            "pwmchip0/pwm0/duty_cycle=1500000", "pwmchip0/pwm0/duty_cycle=1833333",
        ])
        // 120° = 400 ms in 4 steps of 100 ms; the last step's wait includes the 100 ms settle.
        #expect(Array(clock.slept.suffix(4)) == [.milliseconds(100), .milliseconds(100), .milliseconds(100), .milliseconds(200)])
    }

    @Test func waitsForUdevToMakeTheExportedFilesWritable() async throws {
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path, udevDelayChecks: 3)
        let clock = InstantClock()
        try await makeFlap(sysfs, clock: clock).move(toDegrees: 90)
        #expect(clock.slept.prefix(3) == [.milliseconds(20), .milliseconds(20), .milliseconds(20)])
        #expect(sysfs.relativeWrites.contains("pwmchip0/pwm0/duty_cycle=0"))
    }

    @Test func givesUpOnPermissionsAfterTheExportTimeoutNamingTheFile() async throws {
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path, udevDelayChecks: 10_000)
        let flap = makeFlap(sysfs, clock: InstantClock())
        let error = await #expect(throws: HardwareError.self) { try await flap.move(toDegrees: 90) }
        #expect(error?.code == .permissionDenied)
        #expect(error?.message.contains("pwmchip0/pwm0/period") == true)
    }

    @Test func shrinkingThePeriodWritesDutyFirst() async throws {
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path)
        // Left behind by another program: 40 ms period, 30 ms duty, enabled.
        try sysfs.write("0", to: dir.path + "/pwmchip0/export")
        try sysfs.write("40000000", to: dir.path + "/pwmchip0/pwm0/period")
        try sysfs.write("30000000", to: dir.path + "/pwmchip0/pwm0/duty_cycle")
        try sysfs.write("1", to: dir.path + "/pwmchip0/pwm0/enable")
        let before = sysfs.writes.count
        try await makeFlap(sysfs, clock: InstantClock(), releaseAt: []).move(toDegrees: 180)
        #expect(Array(sysfs.relativeWrites.dropFirst(before)) == [
            "pwmchip0/pwm0/duty_cycle=20000000",  // clamp duty under the new period first
            "pwmchip0/pwm0/period=20000000",
            "pwmchip0/pwm0/duty_cycle=2500000",
        ])
    }

    @Test func releaseAndShutdownHomeThenStopThePulse() async throws {
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path)
        let flap = makeFlap(sysfs, clock: InstantClock(), releaseAt: [])
        try await flap.move(toDegrees: 30)
        await flap.shutdown()
        #expect(Array(sysfs.relativeWrites.suffix(3)) == [
            "pwmchip0/pwm0/duty_cycle=1500000", "pwmchip0/pwm0/duty_cycle=0", "pwmchip0/pwm0/enable=0",
        ])
        #expect(await flap.angle == 90)
    }

    @Test func outOfRangeAngleAndMissingChipAreErrors() async throws {
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path)
        let flap = makeFlap(sysfs, clock: InstantClock())
        let range = await #expect(throws: HardwareError.self) { try await flap.move(toDegrees: 200) }
        #expect(range?.code == .outOfRange)
        #expect(sysfs.writes.isEmpty)
        let missing = SysfsPWMFlap(.init(root: dir.path, chip: 2, channel: 0, homeDegrees: 90), io: sysfs, clock: InstantClock())
        let error = await #expect(throws: HardwareError.self) { try await missing.move(toDegrees: 90) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("pwmchip2") == true)
    }

    @Test func chipNumberResolvesFromThePlatformDevice() throws {
        let dir = try TempDirectory(); defer { dir.remove() }
        let sysfs = try FakePWMSysfs(root: dir.path, chips: [0: "1f0009c000.pwm", 2: "1f00098000.pwm"])
        #expect(SysfsPWMChannel.resolveChip(root: dir.path, deviceName: "1f00098000.pwm", io: sysfs) == 2)
        #expect(SysfsPWMChannel.resolveChip(root: dir.path, deviceName: "fe20c000.pwm", io: sysfs) == nil)
    }
}

@Suite struct PWMWritePlanTests {
    @Test func orderKeepsDutyWithinPeriodAtEveryStep() {
        let cases: [(Int64, Int64, Int64, Int64)] = [
            (0, 0, 20_000_000, 1_500_000), (20_000_000, 1_500_000, 20_000_000, 2_500_000),
            (40_000_000, 30_000_000, 20_000_000, 1_000_000), (10_000_000, 5_000_000, 30_000_000, 25_000_000),
        ]
        for (period0, duty0, period, duty) in cases {
            var (p, d) = (period0, duty0)
            for (attribute, value) in PWMWritePlan.writes(currentPeriod: p, currentDuty: d, period: period, duty: duty) {
                if attribute == .period { p = value } else { d = value }
                #expect(d <= p, "duty \(d) > period \(p) going from \(period0)/\(duty0) to \(period)/\(duty)")
            }
            #expect(p == period && d == duty)
        }
        #expect(PWMWritePlan.writes(currentPeriod: 5, currentDuty: 1, period: 5, duty: 1).isEmpty)
    }

    @Test func calibrationMapsAnglesLinearly() throws {
        let servo = ServoCalibration()
        #expect(try servo.pulse(forDegrees: 0) == .microseconds(500))
        #expect(try servo.pulse(forDegrees: 90) == .microseconds(1500))
        #expect(try servo.pulse(forDegrees: 180) == .microseconds(2500))
        #expect(throws: HardwareError.self) { try servo.pulse(forDegrees: -1) }
        #expect(servo.travelTime(from: 0, to: 90) == .milliseconds(300))
    }
}
