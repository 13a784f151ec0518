import BinCore

/// A board's pin, PWM, servo and camera map, loaded from `board/<name>.toml` (format in
/// `board/README.md`). Builds the configurations of the hardware adapters.
public struct BoardProfile: Sendable, Hashable {
    /// An input line used as a trigger (lid switch, IR beam).
    public struct TriggerLine: Sendable, Hashable {
        public var offset: UInt32
        public var activeLow: Bool
        public var bias: GPIOBias
        public var rising: TriggerKind?
        public var falling: TriggerKind?
    }

    /// HC-SR04 wiring and the distance that counts as "item present".
    public struct UltrasonicLines: Sendable, Hashable {
        public var trigger: UInt32
        public var echo: UInt32
        public var thresholdCentimetres: Double
        public var pings: Int
    }

    /// An HC-SR04 above a compartment, looking down at its contents (`[fill.sensors.<compartment>]`).
    public struct FillSensorLines: Sendable, Hashable {
        public var trigger: UInt32
        public var echo: UInt32
        /// Sensor to the empty compartment's floor, cm.
        public var emptyCentimetres: Double
        /// Sensor to the contents of a full compartment, cm.
        public var fullCentimetres: Double
        /// Pings per reading (median).
        public var pings: Int
        /// Time between two readings.
        public var pollInterval: Duration
    }

    /// A compartment's "emptied" push button (`[fill.buttons.<compartment>]`).
    public struct ButtonLine: Sendable, Hashable {
        public var offset: UInt32
        public var activeLow: Bool
        public var bias: GPIOBias
        public var debounce: Duration
    }

    /// Per-compartment fill hardware, by compartment name; both optional.
    public struct Fill: Sendable, Hashable {
        public var sensors: [String: FillSensorLines] = [:]
        public var buttons: [String: ButtonLine] = [:]

        public init(sensors: [String: FillSensorLines] = [:], buttons: [String: ButtonLine] = [:]) {
            self.sensors = sensors
            self.buttons = buttons
        }
    }

    public struct GPIO: Sendable, Hashable {
        /// Chip name, path, number or label (labels survive renumbering: `pinctrl-rp1`).
        public var chip: String
        public var lid: TriggerLine?
        public var beam: TriggerLine?
        public var ultrasonic: UltrasonicLines?
        public var debounce: Duration
    }

    public struct PWM: Sendable, Hashable {
        /// `pwmchipN` number, used when `device` is absent or not found.
        public var chip: Int
        public var channel: Int
        /// Platform device behind the chip (`fe20c000.pwm`); preferred, since chip numbers change
        /// between kernels.
        public var device: String?
    }

    public struct Servo: Sendable, Hashable {
        public var calibration: ServoCalibration
        public var homeDegrees: Double
        /// Compartment name → flap angle in degrees.
        public var angles: [String: Double]
        public var rampSteps: Int
        public var settle: Duration
        /// Drop the pulse once the flap rests at home.
        public var releaseAtHome: Bool
    }

    public struct Camera: Sendable, Hashable {
        public var device: String
        public var pixelFormat: V4L2PixelFormat
        public var width: Int
        public var height: Int
        public var buffers: Int
        public var warmupFrames: Int
    }

    public var name: String
    public var description: String
    /// Lines the board needs in `/boot/firmware/config.txt`.
    public var configTxt: [String]
    /// Groups the service user must be in.
    public var groups: [String]
    public var gpio: GPIO
    public var pwm: PWM
    public var servo: Servo
    public var camera: Camera
    /// Fill sensors and emptied buttons (none by default).
    public var fill = Fill()

    // MARK: Adapter configurations

    /// The lid switch's trigger configuration, if the board has one.
    public var lidTrigger: GPIOTriggerSource.Configuration? { trigger(gpio.lid) }

    /// The IR beam's trigger configuration, if the board has one.
    public var beamTrigger: GPIOTriggerSource.Configuration? { trigger(gpio.beam) }

    /// The HC-SR04's configuration, if fitted. `temperatureCelsius` sets the speed of sound.
    public func ultrasonicTrigger(temperatureCelsius: Double = 20) -> UltrasonicTrigger.Configuration? {
        guard let lines = gpio.ultrasonic else { return nil }
        return UltrasonicTrigger.Configuration(
            chip: gpio.chip, triggerOffset: lines.trigger, echoOffset: lines.echo,
            ranging: UltrasonicRanging(temperatureCelsius: temperatureCelsius),
            detector: ProximityDetector(thresholdCentimetres: lines.thresholdCentimetres),
            pingsPerReading: lines.pings)
    }

    /// The compartments' fill sensors (none when the profile has no `[fill.sensors.*]`), sorted
    /// by compartment. `temperatureCelsius` sets the speed of sound.
    public func fillSensorConfigurations(temperatureCelsius: Double = 20) -> [UltrasonicFillSensors.Configuration] {
        fill.sensors.sorted { $0.key < $1.key }.map { compartment, lines in
            UltrasonicFillSensors.Configuration(
                compartment: compartment, chip: gpio.chip, triggerOffset: lines.trigger, echoOffset: lines.echo,
                gauge: FillGauge(emptyCentimetres: lines.emptyCentimetres, fullCentimetres: lines.fullCentimetres,
                                 ranging: UltrasonicRanging(temperatureCelsius: temperatureCelsius)),
                pings: lines.pings, pollInterval: lines.pollInterval)
        }
    }

    /// The compartments' emptied buttons (none when the profile has no `[fill.buttons.*]`),
    /// sorted by compartment.
    public var emptiedButtonConfigurations: [EmptiedButtons.Configuration] {
        fill.buttons.sorted { $0.key < $1.key }.map { compartment, button in
            EmptiedButtons.Configuration(compartment: compartment, chip: gpio.chip, offset: button.offset,
                                         activeLow: button.activeLow, bias: button.bias, debounce: button.debounce)
        }
    }

    /// The camera's configuration.
    public var cameraConfiguration: V4L2Camera.Configuration {
        V4L2Camera.Configuration(device: camera.device, pixelFormat: camera.pixelFormat, width: camera.width,
                                 height: camera.height, bufferCount: camera.buffers, warmupFrames: camera.warmupFrames)
    }

    /// The flap's configuration; the chip number comes from `pwm.device` when that resolves
    /// under `root`, else from `pwm.chip`.
    public func flapConfiguration(root: String = "/sys/class/pwm", io: any SysfsIO = PosixSysfs()) -> SysfsPWMFlap<ContinuousClock>.Configuration {
        let chip = pwm.device.flatMap { SysfsPWMChannel.resolveChip(root: root, deviceName: $0, io: io) } ?? pwm.chip
        return .init(root: root, chip: chip, channel: pwm.channel, calibration: servo.calibration,
                     rampSteps: servo.rampSteps, settle: servo.settle,
                     releaseAt: servo.releaseAtHome ? [servo.homeDegrees] : [], homeDegrees: servo.homeDegrees)
    }

    /// The flap angles for `BinConfig.flap`.
    public var flapProfile: BinConfig.FlapProfile {
        BinConfig.FlapProfile(homeDegrees: servo.homeDegrees, angles: servo.angles)
    }

    private func trigger(_ line: TriggerLine?) -> GPIOTriggerSource.Configuration? {
        guard let line else { return nil }
        return .init(chip: gpio.chip, offset: line.offset, activeLow: line.activeLow, bias: line.bias,
                     rising: line.rising, falling: line.falling, debounce: gpio.debounce)
    }
}
