import BinCore
import Foundation
import Imaging
import Logging
import ServiceLifecycle
import Telemetry

/// Everything `run` and `simulate` share: the model, the MQTT publisher with its outbox, the
/// controller, and the service that runs them until the items are done or SIGTERM/SIGINT.
public struct BinRuntime: Sendable {
    /// The parts that differ between the real bin and the simulated one.
    public struct Parts: Sendable {
        public var triggers: any TriggerSource
        public var frames: any FrameSource
        public var flap: any Flap
        /// Called after each event was made durable.
        public var onRecorded: @Sendable (BinEvent) -> Void
        /// Fill hardware: the ultrasonic sensors above the compartments, the emptied buttons.
        public var fillSensors: [any FillSensor]
        /// The compartments a fill sensor measures (for Home Assistant discovery).
        public var measuredCompartments: Set<String>

        public init(triggers: any TriggerSource, frames: any FrameSource, flap: any Flap,
                    fillSensors: [any FillSensor] = [], measuredCompartments: Set<String> = [],
                    onRecorded: @escaping @Sendable (BinEvent) -> Void = { _ in }) {
            self.triggers = triggers
            self.frames = frames
            self.flap = flap
            self.fillSensors = fillSensors
            self.measuredCompartments = measuredCompartments
            self.onRecorded = onRecorded
        }
    }

    public let config: SmartBinConfig
    public let dataDirectory: String
    public let defaultModel: String?
    public let flushTimeout: Duration
    public let logger: Logger

    public init(config: SmartBinConfig, dataDirectory: String, defaultModel: String? = nil,
                flushTimeout: Duration = .seconds(30), logger: Logger) {
        self.config = config
        self.dataDirectory = dataDirectory
        self.defaultModel = defaultModel
        self.flushTimeout = flushTimeout
        self.logger = logger
    }

    /// Loads the configured model (labels, preset, threads).
    public func loadModel() throws -> LoadedModel {
        if let installed = ModelUpdater.installedModel(modelsDirectory: modelsDirectory) {
            logger.info("using the model installed by update_model (\(modelsDirectory)/current.onnx); model.path is only the first model")
            return try loadModel(path: installed)
        }
        guard let modelPath = config.model.path ?? defaultModel else {
            throw AppError("no model configured: set model.path in the config or pass --model")
        }
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw AppError("\(modelPath): model not found; pass --model M.onnx or set model.path (`make models` generates the demo model)")
        }
        return try loadModel(path: modelPath)
    }

    /// Where `update_model` keeps models: `<data_dir>/models`.
    public var modelsDirectory: String { dataDirectory + "/models" }

    /// Loads the model at `modelPath` with the configured labels, preset and threads.
    public func loadModel(path modelPath: String) throws -> LoadedModel {
        let loaded = try LoadedModel(path: modelPath, labelsPath: config.model.labels,
                                     preset: config.model.preset.flatMap(ChannelPreset.init(rawValue:)),
                                     threads: config.model.threads)
        logger.info("model \(modelPath): \(loaded.outputCount) classes, preset \(loaded.preprocessor.preset.rawValue), sha256 \(loaded.info.sha256.prefix(12))…")
        return loaded
    }

    /// Loads another model file with the configured labels, preset and threads (`cmd/reload_model`).
    var makeModel: @Sendable (String) throws -> LoadedModel {
        let model = config.model
        return { path in
            try LoadedModel(path: path, labelsPath: model.labels,
                            preset: model.preset.flatMap(ChannelPreset.init(rawValue:)), threads: model.threads)
        }
    }

    /// Runs the bin with `parts` until the triggers end (when `stopWhenTriggersEnd`) or a signal.
    /// - Returns: events still waiting in the outbox for the broker.
    public func run(_ parts: Parts, stopWhenTriggersEnd: Bool) async throws -> Int {
        // The password file first: a refused one should not wait for the model to load.
        let mqtt = try MQTTSettings.configuration(config)
        let loaded = try loadModel()
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let layout = TopicLayout(prefix: config.mqtt.topicPrefix, fleet: config.bin.fleet, binID: config.bin.id)
        let publisher = try MQTTEventPublisher(mqtt: mqtt, layout: layout,
                                               outboxDirectory: dataDirectory + "/outbox",
                                               outboxMaxBytes: config.storage.outboxMaxMegabytes << 20, logger: logger)
        let slot = ModelSlot(loaded)
        let updater = try ModelUpdater(slot: slot, modelsDirectory: modelsDirectory, logger: logger) { [self] path in
            try loadModel(path: path)
        }
        let sink = ConsoleEventSink(inner: publisher, onRecorded: parts.onRecorded)
        let classifier = ReloadableClassifier(slot: slot, makeModel: makeModel)
        // With a systemd watchdog, it is fed only while the controller loop beats this.
        let heartbeat = SystemdNotifier.watchdogPingInterval() == nil ? nil : Heartbeat(clock: ContinuousClock())
        let controller = try BinController(
            config: config.controller, labels: loaded.labels,
            identity: .init(binID: config.bin.id, firmware: SmartBinApp.firmwareVersion),
            triggers: parts.triggers, frames: parts.frames, classifier: classifier,
            flap: parts.flap, sink: sink, clock: ContinuousClock(), firstSeq: publisher.nextSequence,
            fillStore: FillFileStore(directory: dataDirectory), heartbeat: heartbeat,
            wallClock: { Date().timeIntervalSince1970 }, logger: logger)
        let commands = makeCommandRouter(layout: layout, controller: controller, classifier: classifier, flap: parts.flap)
        let service = BinService(controller: controller, publisher: publisher, commands: commands, flushTimeout: flushTimeout,
                                 stopWhenTriggersEnd: stopWhenTriggersEnd, logger: logger)
        // Graceful shutdown runs in reverse order: systemd hears STOPPING first, commands stop,
        // then the bin homes its flap and flushes.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: ModelCommandService(updater: updater, client: publisher.client, layout: layout,
                                               pollInterval: .seconds(2), logger: logger),
                  successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: FillCommandService(controller: controller, client: publisher.client, layout: layout, logger: logger),
                  successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if !parts.fillSensors.isEmpty {
            services.append(.init(service: FillSensorService(controller: controller, sensors: parts.fillSensors, logger: logger),
                                  successTerminationBehavior: .gracefullyShutdownGroup))
        }
        if config.mqtt.homeAssistantDiscovery {
            let messages = homeAssistantDiscovery(layout: layout, measured: parts.measuredCompartments)
            services.append(.init(service: HomeAssistantDiscoveryService(client: publisher.client, messages: messages, logger: logger),
                                  successTerminationBehavior: .gracefullyShutdownGroup))
        }
        if let notify = SystemdNotifyService.fromEnvironment(heartbeat: heartbeat, logger: logger) {
            services.append(.init(service: notify, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        return await publisher.pendingCount
    }
}

extension BinRuntime {
    /// The Home Assistant discovery messages: a sensor for every compartment with a fill estimate
    /// (a capacity, or a sensor in `measured`), a removal for the others.
    func homeAssistantDiscovery(layout: TopicLayout, measured: Set<String>) -> [HomeAssistantDiscovery.Message] {
        let compartments = Set(config.controller.flap.angles.keys)
        let tracked = compartments.filter { config.controller.fill.capacity(of: $0) != nil || measured.contains($0) }
        return HomeAssistantDiscovery(prefix: config.mqtt.homeAssistantPrefix, layout: layout,
                                      firmware: SmartBinApp.firmwareVersion)
            .messages(tracked: tracked, untracked: compartments.subtracting(tracked))
    }
}

/// Runs the controller as a `Service`: SIGTERM/SIGINT stop it gracefully (flap home), then
/// pending events get a last chance to reach the broker and `stopped` is published.
struct BinService: Service {
    let controller: BinController
    let publisher: MQTTEventPublisher
    let commands: CommandRouter?
    let flushTimeout: Duration
    let stopWhenTriggersEnd: Bool
    let logger: Logger

    func run() async throws {
        try await publisher.start()
        let commandTask = commands.map { router in
            Task { [publisher, logger] in
                do { try await router.run(client: publisher.client) } catch {
                    logger.error("commands unavailable: \(error)")
                }
            }
        }
        defer { commandTask?.cancel() }
        await cancelWhenGracefulShutdown { [controller, stopWhenTriggersEnd] in
            await controller.run(stopWhenTriggersEnd: stopWhenTriggersEnd)
        }
        let patience: Duration = Task.isShuttingDownGracefully ? min(.seconds(2), flushTimeout) : flushTimeout
        if await !publisher.flush(timeout: patience) {
            let pending = await publisher.pendingCount
            logger.warning("broker did not acknowledge every event; they stay in the outbox for the next start",
                           metadata: ["pending": "\(pending)"])
        }
        await publisher.shutdown()
    }
}

