import BinCore
import Logging
import Telemetry

extension BinRuntime {
    /// The commands the bin answers on `…/cmd/<name>`. Add a command by writing a
    /// `CommandHandler` and registering it here.
    func makeCommandRouter(layout: TopicLayout, controller: BinController,
                           classifier: ReloadableClassifier, flap: any Flap) -> CommandRouter {
        CommandRouter(layout: layout, handlers: [
            MaintenanceCommand(controller: controller),
            FlapTestCommand(controller: controller, flap: flap, config: config.controller),
            ReloadModelCommand(classifier: classifier),
        ], answeredElsewhere: ["update_model", "rollback_model", "emptied"], logger: logger)
    }
}
