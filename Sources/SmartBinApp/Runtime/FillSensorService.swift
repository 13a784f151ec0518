import BinCore
import Logging
import ServiceLifecycle

/// Feeds what the fill hardware reports — the ultrasonic sensors' levels and the emptied
/// buttons' presses — into the controller (`BinController.observe`), until the group shuts down.
struct FillSensorService: Service {
    let controller: BinController
    let sensors: [any FillSensor]
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { [controller, sensors] in
            await withTaskGroup(of: Void.self) { group in
                for sensor in sensors {
                    group.addTask {
                        for await observation in sensor.observations() { await controller.observe(observation) }
                    }
                }
            }
        }
        // Sources that ended on their own (none of the hardware ones do) must not end the group
        // with "finished unexpectedly": wait for the shutdown like the other services.
        if !Task.isShuttingDownGracefully && !Task.isCancelled {
            logger.info("fill sensors finished reporting")
            try? await gracefulShutdown()
        }
    }
}
