/// The servo flap that tips an item into a compartment (sysfs PWM, a logging simulator, or the
/// test fake). The home (safe) angle is board data: `BinConfig.Flap.homeDegrees`.
public protocol Flap: Sendable {
    /// Moves the flap to an absolute angle and returns when it has got there (the adapter waits
    /// out the servo's travel time). The controller bounds it with `BinConfig.Timeouts.actuate`.
    /// - Parameter degrees: target angle in degrees, within the board's calibrated range.
    /// - Throws: when the PWM channel could not be driven.
    func move(toDegrees degrees: Double) async throws
    /// Stops driving the servo (PWM off), leaving it where it is. Called on shutdown after homing.
    func release() async
}
