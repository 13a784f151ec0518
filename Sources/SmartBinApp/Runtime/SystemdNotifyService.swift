import BinCore
import Logging
import ServiceLifecycle

/// Tells systemd the firmware is up (`READY=1`), feeds its watchdog (`WATCHDOG=1` every half
/// `WatchdogSec=`) while the bin's controller loop is alive, and announces `STOPPING=1` when a
/// graceful shutdown begins.
///
/// A ping goes out only when the controller's `Heartbeat` is fresh: the controller beats it
/// through its own actor, and only while its state machine is at rest or within its current
/// state's timeout. A stuck cycle or a blocked controller therefore stops the pings, and systemd
/// restarts the unit after `WatchdogSec=`; a slow but legitimate cycle (up to its timeouts and
/// retry back-off) does not.
public struct SystemdNotifyService: Service {
    public let notifier: SystemdNotifier
    /// Interval between `WATCHDOG=1` pings; nil when systemd set no watchdog.
    public let pingInterval: Duration?
    /// The controller loop's proof of life (nil: ping unconditionally).
    public let heartbeat: Heartbeat?
    public let logger: Logger
    private let sleep: @Sendable (Duration) async throws -> Void

    /// - Parameters:
    ///   - heartbeat: pings are sent only while it is fresh.
    ///   - clock: what the pings are paced by (`ContinuousClock()`; a manual clock in tests).
    public init(notifier: SystemdNotifier, pingInterval: Duration?, heartbeat: Heartbeat? = nil,
                clock: some Clock<Duration> = ContinuousClock(), logger: Logger) {
        self.notifier = notifier
        self.pingInterval = pingInterval
        self.heartbeat = heartbeat
        self.logger = logger
        sleep = { delay in try await clock.sleep(until: clock.now.advanced(by: delay), tolerance: nil) }
    }

    /// The service for this process's environment, or nil when not started by systemd with `Type=notify`.
    public static func fromEnvironment(heartbeat: Heartbeat?, logger: Logger) -> SystemdNotifyService? {
        guard let notifier = SystemdNotifier() else { return nil }
        return SystemdNotifyService(notifier: notifier, pingInterval: SystemdNotifier.watchdogPingInterval(),
                                    heartbeat: heartbeat, logger: logger)
    }

    public func run() async throws {
        report(notifier.send("READY=1"), "READY=1")
        logger.info("told systemd READY", metadata: ["watchdog_ping": "\(pingInterval.map { "\($0)" } ?? "off")"])
        await cancelWhenGracefulShutdown {
            guard let interval = pingInterval else {
                // No watchdog: just wait for the shutdown.
                while !Task.isCancelled { try? await sleep(.seconds(3600)) }
                return
            }
            var withheld = false
            while !Task.isCancelled {
                if await heartbeat?.isFresh() ?? true {
                    if withheld { logger.notice("controller loop alive again; watchdog pings resume") }
                    withheld = false
                    report(notifier.send("WATCHDOG=1"), "WATCHDOG=1")
                } else if !withheld {
                    withheld = true
                    let age = await heartbeat?.age() ?? .zero
                    logger.error("controller loop silent for \(age.shortDescription); withholding WATCHDOG=1 so systemd restarts the service")
                }
                try? await sleep(interval)
            }
        }
        report(notifier.send("STOPPING=1"), "STOPPING=1")
    }

    private func report(_ result: Result<Void, AppError>, _ state: String) {
        if case .failure(let error) = result {
            logger.warning("could not notify systemd", metadata: ["state": "\(state)", "error": "\(error)"])
        }
    }
}
