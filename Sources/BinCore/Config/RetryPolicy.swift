/// Bounded recovery from `fault`: up to `maxAttempts` consecutive faults are retried, each after an
/// exponentially growing, capped back-off; one more fault leaves the bin in `fault` until an
/// operator clears it (maintenance on/off) or restarts it.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var multiplier: Double
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 3, initialBackoff: Duration = .seconds(1), multiplier: Double = 2,
                maxBackoff: Duration = .seconds(30)) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.multiplier = multiplier
        self.maxBackoff = maxBackoff
    }

    /// The wait before retry number `attempt` (1-based): `initial * multiplier^(attempt-1)`,
    /// capped at `maxBackoff`.
    public func backoff(forAttempt attempt: Int) -> Duration {
        precondition(attempt >= 1, "retry attempts are numbered from 1")
        var delay = initialBackoff
        var step = 1
        while step < attempt && delay < maxBackoff {
            delay = delay * multiplier
            step += 1
        }
        return min(delay, maxBackoff)
    }

    func validate() throws(BinCoreError) {
        guard maxAttempts >= 0 else { throw BinCoreError(.invalidConfig, "retry.max_attempts must be ≥ 0") }
        guard multiplier >= 1 else { throw BinCoreError(.invalidConfig, "retry.multiplier must be ≥ 1") }
        guard initialBackoff > .zero, maxBackoff >= initialBackoff else {
            throw BinCoreError(.invalidConfig, "retry backoffs must satisfy 0 < initial_backoff ≤ max_backoff")
        }
    }
}
