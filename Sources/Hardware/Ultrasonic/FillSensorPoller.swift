import BinCore

/// Polls the compartments' fill sensors, each at its own interval and one sensor at a time (so
/// one sensor's echo never reaches another's receiver): opens a sensor's lines when needed, fires
/// its burst of pings, and turns the burst into an observation through its `FillSensorChannel`.
///
/// No thread and no clock of its own: the adapter's polling thread (or a test) passes the time
/// and the pause between pings, and the pingers come from `open` (GPIO lines in the firmware,
/// recorded echo timings in tests). Not `Sendable`: it owns the pingers of the thread it runs on.
struct FillSensorPoller {
    typealias Open = (UltrasonicFillSensors.Configuration) throws(HardwareError) -> any EchoPinger

    /// What one call of `poll` produced.
    struct Report {
        var observations: [FillObservation] = []
        /// Log lines with the sensor they are about.
        var logs: [(sensor: UltrasonicFillSensors.Configuration, line: FillSensorChannel.LogLine)] = []
    }

    private struct Slot {
        let configuration: UltrasonicFillSensors.Configuration
        var channel: FillSensorChannel
        var pinger: (any EchoPinger)?
        var due: Duration
    }

    private var slots: [Slot]
    private let open: Open

    /// - Parameters:
    ///   - sensors: one per compartment.
    ///   - start: when the first poll of every sensor is due (on the caller's clock).
    ///   - open: requests a sensor's lines (called again after a failure).
    init(_ sensors: [UltrasonicFillSensors.Configuration], start: Duration, open: @escaping Open) {
        slots = sensors.map { sensor in
            Slot(configuration: sensor,
                 channel: FillSensorChannel(compartment: sensor.compartment, lines: sensor.lines, gauge: sensor.gauge),
                 pinger: nil, due: start)
        }
        self.open = open
    }

    /// When the next sensor is due (nil without sensors).
    var nextDue: Duration? { slots.map(\.due).min() }

    /// The level each compartment reported last.
    var reported: [String: Double] {
        var levels: [String: Double] = [:]
        for slot in slots { levels[slot.configuration.compartment] = slot.channel.reported }
        return levels
    }

    /// Polls every sensor due at `now`; each is next due one poll interval after `now`.
    /// - Parameter pause: waits between two pings (the datasheet's 60 ms, so old echoes die out).
    mutating func poll(now: Duration, pause: (Duration) -> Void) -> Report {
        var report = Report()
        for index in slots.indices where slots[index].due <= now {
            let sensor = slots[index].configuration
            slots[index].due = now + sensor.pollInterval
            let outcome: FillSensorChannel.Outcome
            switch burst(at: index, pause: pause) {
            case .success(let pings):
                outcome = slots[index].channel.update(pings)
            case .failure(let problem):
                slots[index].pinger = nil  // lines released; requested again at the next poll
                outcome = slots[index].channel.hardwareFailed(problem.message)
            }
            if let level = outcome.level {
                report.observations.append(FillObservation(compartment: sensor.compartment, kind: .level(level),
                                                           source: sensor.lines))
            }
            if let line = outcome.log { report.logs.append((sensor, line)) }
        }
        return report
    }

    /// Opens the sensor's lines if they are not held, then fires its pings.
    private mutating func burst(at index: Int, pause: (Duration) -> Void) -> Result<[EchoPing], HardwareError> {
        let sensor = slots[index].configuration
        let pinger: any EchoPinger
        if let held = slots[index].pinger {
            pinger = held
        } else {
            do {
                pinger = try open(sensor)
            } catch {
                return .failure(HardwareError(error.code, "lines not available: \(error.message); requested again at the next poll"))
            }
            slots[index].pinger = pinger
        }
        var pings: [EchoPing] = []
        do {
            for number in 0..<sensor.pings {
                if number > 0 { pause(sensor.pingInterval) }
                pings.append(try pinger.ping(echoTimeout: sensor.gauge.ranging.echoTimeout))
            }
        } catch {
            return .failure(HardwareError(error.code, "ping failed: \(error.message); lines requested again at the next poll"))
        }
        pause(sensor.pingInterval)
        return .success(pings)
    }
}
