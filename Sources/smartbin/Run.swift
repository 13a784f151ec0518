import ArgumentParser
import Foundation
import Hardware
import Logging
import SmartBinApp

/// `smartbin run`: the firmware on its board.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the bin on its board: GPIO triggers, V4L2 camera, PWM servo, MQTT (needs the gpio and video groups).")

    @OptionGroup var common: CommonOptions

    @Option(help: "Board profile name (pi4, pi5, zero2w, generic) or file (overrides bin.board).")
    var board: String?

    func run() async throws {
        var config: SmartBinConfig
        do { config = try common.loadConfig() } catch { throw fail("\(error)") }
        if let board { config.bin.board = board }
        do {
            let pending = try await HardwareBin(config: config, logger: Logger(label: "smartbin")).run()
            if pending > 0 { print("\(pending) event(s) kept in the outbox for the next start") }
        } catch {
            throw fail("\(error)")
        }
    }
}

/// `smartbin doctor`: what works on this board and what to fix.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check GPIO chip and lines, PWM, camera, broker, model and permissions; print what to fix.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Board profile name or file (overrides bin.board).")
    var board: String?

    @Flag(name: .customLong("flap-test"), help: "Also move the flap to each compartment and back home.")
    var flapTest = false

    func run() async throws {
        var config: SmartBinConfig
        do { config = try common.loadConfig() } catch { throw fail("\(error)") }
        if let board { config.bin.board = board }
        let profile: BoardProfile
        do { profile = try HardwareBin.profile(named: config.bin.board) } catch { throw fail("\(error)") }
        let findings = await Hardware.Doctor(profile: profile, extraChecks: DoctorChecks.application(config)).run(flapTest: flapTest)
        for finding in findings { print(finding) }
        let failures = findings.filter { $0.status == .fail }.count
        print("\(findings.count) checks: \(failures) failed")
        if failures > 0 { throw ExitCode(1) }
    }
}
