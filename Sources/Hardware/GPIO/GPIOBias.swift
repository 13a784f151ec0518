/// The pull resistor to request on an input line (libgpiod ≥ 1.5 request flags; kernel ≥ 5.5).
public enum GPIOBias: String, Sendable, Hashable, CaseIterable {
    /// Leave the line's bias as the kernel or device tree set it.
    case asIs = "as-is"
    /// No pull resistor.
    case disabled = "disable"
    /// Internal pull-up (switches and open-collector sensors to ground).
    case pullUp = "pull-up"
    /// Internal pull-down.
    case pullDown = "pull-down"
}
