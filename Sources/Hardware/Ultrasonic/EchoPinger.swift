/// Something that fires one ultrasonic ping and records its echo: the HC-SR04 on two GPIO lines
/// (`HCSR04`), and in tests a player of recorded echo timings.
///
/// Not `Sendable`: a pinger lives on the one thread that polls it.
public protocol EchoPinger: AnyObject {
    /// `chip:trigger/echo`, as logs and errors name the sensor.
    var lines: String { get }

    /// Fires one ping and returns its echo edges; blocks for at most `echoTimeout`.
    /// - Throws: `HardwareError` naming the lines when a GPIO call fails.
    func ping(echoTimeout: Duration) throws(HardwareError) -> EchoPing
}
