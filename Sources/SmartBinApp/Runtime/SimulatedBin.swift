import BinCore
import Foundation
import Imaging
import Logging
import ServiceLifecycle
import Simulation
import Telemetry

/// `smartbin simulate`: the whole bin on a desktop — simulated triggers, frames from an image
/// folder, a logging flap — with the real engine and a real MQTT connection.
public struct SimulatedBin {
    public struct Options: Sendable {
        /// Route this many items, then stop (nil: run until SIGTERM/SIGINT).
        public var items: Int?
        /// Mean simulated items per second.
        public var rate: Double?
        public var images: String?
        public var script: String?
        public var keyboard = false
        public var dataDirectory: String?
        public var seed: UInt64 = 1
        /// How long to wait at the end for the broker to acknowledge every event.
        public var flushTimeout: Duration = .seconds(30)

        public init() {}
    }

    /// The model `simulate` runs when neither `--model` nor `model.path` names one.
    public static let demoModel = "out/models/resnet50-v1-keras-6.onnx"

    public let config: SmartBinConfig
    public let options: Options
    public let logger: Logger

    public init(config: SmartBinConfig, options: Options, logger: Logger) {
        self.config = config
        self.options = options
        self.logger = logger
    }

    /// Builds every part and runs until the items are done or a shutdown signal arrives.
    /// - Returns: events still waiting in the outbox for the broker (0 when all were acknowledged).
    public func run() async throws -> Int {
        let clock = ContinuousClock()
        // As on the board (`HardwareBin`): the flap angles are the board profile's `[servo.angles]`
        // unless the config has its own `[flap]`.
        var config = self.config
        if !config.flapAnglesFromConfig {
            config.controller.flap = try HardwareBin.profile(named: config.bin.board).flapProfile
        }
        let frames = try frameSource()
        let pacer = PacedTriggerSource(items: options.items, rate: options.rate ?? config.simulation.rate, seed: options.seed)
        let triggers: any TriggerSource
        var fillSensors: [any FillSensor] = []
        var measured: Set<String> = []
        if let script = options.script ?? config.simulation.script {
            let scripted = try ScriptedTriggerSource(contentsOfFile: script, clock: clock)
            triggers = scripted
            // The script's `level` and `button` steps stand in for the fill sensors and buttons.
            if scripted.steps.contains(where: { if case .fill = $0.step { true } else { false } }) {
                fillSensors = [scripted]
                measured = scripted.measuredCompartments
            }
        } else if options.keyboard {
            print("keyboard: Enter or 'o' drops an item, 'b' breaks the beam, 'q' quits")
            triggers = KeyboardTriggerSource()
        } else {
            triggers = pacer
        }
        let parts = BinRuntime.Parts(triggers: triggers, frames: frames,
                                     flap: LoggingFlap(logger: logger, clock: clock, homeDegrees: config.controller.flap.homeDegrees),
                                     fillSensors: fillSensors, measuredCompartments: measured,
                                     onRecorded: { _ in pacer.itemFinished() })
        let runtime = BinRuntime(config: config, dataDirectory: options.dataDirectory ?? config.storage.dataDirectory
                                    ?? (NSTemporaryDirectory() + "smartbin-sim-" + config.bin.id),
                                 defaultModel: Self.demoModel, flushTimeout: options.flushTimeout, logger: logger)
        return try await runtime.run(parts, stopWhenTriggersEnd: options.items != nil || options.script != nil)
    }

    /// Frames from `--images`, `simulation.images`, the shared TrashNet sample, or synthetic ones.
    private func frameSource() throws -> any FrameSource {
        let decode: @Sendable (String) throws -> Frame = { path in
            let image = try JPEG.decode(contentsOf: path)
            return Frame(width: image.width, height: image.height, rgb: image.pixels, origin: path)
        }
        if let folder = options.images ?? config.simulation.images {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw AppError("\(folder): image folder not found")
            }
            logger.info("frames from \(folder)")
            return try ImageFolderFrameSource(directory: folder, order: .random(seed: options.seed), decode: decode)
        }
        if let sample = SamplePhotos.trashNet {
            logger.info("frames from the TrashNet sample photos in \(sample) (read in place)")
            return try ImageFolderFrameSource(directory: sample, order: .random(seed: options.seed), decode: decode)
        }
        logger.warning("no image folder: using SYNTHETIC frames (pass --images DIR for real photos)")
        return SyntheticFrameSource()
    }
}

/// Where the shared TrashNet sample photos are, if this checkout has them beside it.
enum SamplePhotos {
    static var trashNet: String? {
        var candidates = ["../shared/data/trashnet"]
        // Relative to the executable: <root>/.build/<config>/smartbin -> <root>/../shared/...
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("../../../shared/data/trashnet").standardized.path)
        return candidates.first { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }
}
