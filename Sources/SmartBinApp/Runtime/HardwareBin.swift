import BinCore
import Foundation
import Hardware
import Logging

/// `smartbin run`: the bin on its board — GPIO triggers, the V4L2 camera, the PWM servo —
/// as the board profile describes them.
public struct HardwareBin {
    public let config: SmartBinConfig
    public let logger: Logger

    public init(config: SmartBinConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Finds the board profile `config.bin.board`: a file path, or a name looked up in
    /// `/etc/smartbin/board`, `/usr/share/smartbin/board` and the `board/` folder beside the binary.
    public static func profile(named name: String) throws -> BoardProfile {
        if name.contains("/") || name.hasSuffix(".toml") { return try BoardProfile.load(path: name) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let folders = ["/etc/smartbin/board", "/usr/share/smartbin/board", "board",
                       executable.appendingPathComponent("../../../board").standardized.path,
                       executable.appendingPathComponent("../share/smartbin/board").standardized.path]
        for folder in folders where FileManager.default.fileExists(atPath: folder + "/" + name + ".toml") {
            return try BoardProfile.load(path: folder + "/" + name + ".toml")
        }
        throw AppError("board profile '\(name)' not found in \(folders.joined(separator: ", ")) (bin.board in the config)")
    }

    /// Opens the hardware and runs until SIGTERM/SIGINT.
    public func run() async throws -> Int {
        // A refused password file (group- or world-readable) stops the start before any device opens.
        _ = try MQTTSettings.configuration(config)
        let profile = try Self.profile(named: config.bin.board)
        var config = self.config
        if !config.flapAnglesFromConfig { config.controller.flap = profile.flapProfile }
        var sources: [any TriggerSource] = []
        if let lid = profile.lidTrigger { sources.append(try GPIOTriggerSource(lid, logger: logger)) }
        if let beam = profile.beamTrigger { sources.append(try GPIOTriggerSource(beam, logger: logger)) }
        if let sonar = profile.ultrasonicTrigger() { sources.append(try UltrasonicTrigger(sonar, logger: logger)) }
        guard !sources.isEmpty else {
            throw AppError("board profile '\(profile.name)' defines no trigger (lid, beam or ultrasonic)")
        }
        // MJPEG through libjpeg-turbo, YUYV through Imaging.
        let camera = try V4L2Camera(profile.cameraConfiguration, decodeMJPEG: FrameAssembler.libjpegMJPEG,
                                    convertYUYV: FrameAssembler.imagingYUYV, logger: logger)
        defer { camera.stop() }
        let flap = SysfsPWMFlap(profile.flapConfiguration(), clock: ContinuousClock())
        if let problem = Self.fillWiringProblems(profile, compartments: config.controller.flap.angles.keys).first {
            throw AppError(problem)
        }
        var fillSensors: [any FillSensor] = []
        let sensors = profile.fillSensorConfigurations()
        if !sensors.isEmpty { fillSensors.append(UltrasonicFillSensors(sensors, logger: logger)) }
        let buttons = profile.emptiedButtonConfigurations
        if !buttons.isEmpty { fillSensors.append(EmptiedButtons(buttons, logger: logger)) }
        for sensor in sensors {
            logger.info("fill sensor", metadata: ["compartment": "\(sensor.compartment)", "lines": "\(sensor.lines)",
                                                  "poll": "\(sensor.pollInterval)"])
        }
        for button in buttons {
            logger.info("emptied button", metadata: ["compartment": "\(button.compartment)", "line": "\(button.line)"])
        }
        let runtime = BinRuntime(config: config, dataDirectory: config.storage.dataDirectory ?? "/var/lib/smartbin", logger: logger)
        return try await runtime.run(.init(triggers: MergedTriggerSource(sources), frames: camera, flap: flap,
                                           fillSensors: fillSensors, measuredCompartments: Set(sensors.map(\.compartment))),
                                     stopWhenTriggersEnd: false)
    }

    /// Fill sensors and emptied buttons of `profile` whose compartment the bin does not have
    /// (the profile checks its own `[servo.angles]`; a config's `[flap]` may name others).
    public static func fillWiringProblems(_ profile: BoardProfile, compartments: some Collection<String>) -> [String] {
        let known = Set(compartments)
        let have = known.sorted().joined(separator: ", ")
        return profile.fill.sensors.keys.sorted().filter { !known.contains($0) }.map {
            "board profile '\(profile.name)': [fill.sensors.\($0)] names no compartment of this bin (have: \(have))"
        } + profile.fill.buttons.keys.sorted().filter { !known.contains($0) }.map {
            "board profile '\(profile.name)': [fill.buttons.\($0)] names no compartment of this bin (have: \(have))"
        }
    }
}

/// Several trigger sensors as one stream (lid switch, beam and ultrasonic together).
public struct MergedTriggerSource: TriggerSource {
    public let sources: [any TriggerSource]

    public init(_ sources: [any TriggerSource]) { self.sources = sources }

    public func events() -> AsyncStream<TriggerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: TriggerEvent.self)
        let task = Task { [sources] in
            await withTaskGroup(of: Void.self) { group in
                for source in sources {
                    group.addTask { for await event in source.events() { continuation.yield(event) } }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
