import Logging
import ServiceLifecycle

/// Tells systemd the firmware is up (`READY=1`), keeps its watchdog fed (`WATCHDOG=1` every half
/// `WatchdogSec=`) and announces `STOPPING=1` when a graceful shutdown begins.
///
/// It runs in the same `ServiceGroup` as the bin: the group starts it once the model is loaded
/// and the publisher is built, and if the group's tasks wedge so that this one is no longer
/// scheduled, pings stop and systemd restarts the unit.
public struct SystemdNotifyService: Service {
    public let notifier: SystemdNotifier
    /// Interval between `WATCHDOG=1` pings; nil when systemd set no watchdog.
    public let pingInterval: Duration?
    public let logger: Logger

    public init(notifier: SystemdNotifier, pingInterval: Duration?, logger: Logger) {
        self.notifier = notifier
        self.pingInterval = pingInterval
        self.logger = logger
    }

    /// The service for this process's environment, or nil when not started by systemd with `Type=notify`.
    public static func fromEnvironment(logger: Logger) -> SystemdNotifyService? {
        guard let notifier = SystemdNotifier() else { return nil }
        return SystemdNotifyService(notifier: notifier, pingInterval: SystemdNotifier.watchdogPingInterval(), logger: logger)
    }

    public func run() async throws {
        report(notifier.send("READY=1"), "READY=1")
        logger.info("told systemd READY", metadata: ["watchdog_ping": "\(pingInterval.map { "\($0)" } ?? "off")"])
        await cancelWhenGracefulShutdown {
            guard let interval = pingInterval else {
                // No watchdog: just wait for the shutdown.
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                return
            }
            while !Task.isCancelled {
                report(notifier.send("WATCHDOG=1"), "WATCHDOG=1")
                try? await Task.sleep(for: interval)
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
