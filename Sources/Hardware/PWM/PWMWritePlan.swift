/// The order in which to write `period` and `duty_cycle` so that duty never exceeds period at any
/// moment (the kernel rejects such a write with `EINVAL`) (pure).
public enum PWMWritePlan {
    public enum Attribute: String, Sendable, Hashable {
        case period
        case dutyCycle = "duty_cycle"
    }

    /// Writes taking the channel from (`currentPeriod`, `currentDuty`) to (`period`, `duty`), in
    /// nanoseconds; unchanged values are skipped.
    ///
    /// If the new period still covers the current duty, the period goes first (e.g. a freshly
    /// exported channel at 0/0, or a longer period); otherwise — shrinking the period below the
    /// current duty — the duty goes first. One order always works when `duty ≤ period`.
    public static func writes(currentPeriod: Int64, currentDuty: Int64, period: Int64, duty: Int64) -> [(Attribute, Int64)] {
        precondition(duty <= period, "duty \(duty) ns exceeds period \(period) ns")
        var plan: [(Attribute, Int64)] = []
        if period >= currentDuty {
            if period != currentPeriod { plan.append((.period, period)) }
            if duty != currentDuty { plan.append((.dutyCycle, duty)) }
        } else {
            if duty != currentDuty { plan.append((.dutyCycle, duty)) }
            if period != currentPeriod { plan.append((.period, period)) }
        }
        return plan
    }
}
