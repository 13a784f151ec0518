import ArgumentParser
import Foundation
import Logging
import SmartBinApp

/// `smartbin simulate`: the bin on a desktop, with simulated sensors and a real broker.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the bin with simulated triggers, frames from an image folder and a logging flap, publishing to MQTT.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Image folder, searched recursively (default: the TrashNet sample photos in ../shared/data/trashnet, else synthetic frames).")
    var images: String?

    @Option(help: "Route this many items, then exit once the broker acknowledged every event (or the outbox holds it).")
    var items: Int?

    @Option(help: "Mean simulated items per second (default: simulation.rate, 1.0).")
    var rate: Double?

    @Option(help: "A trigger script (lines: open, close, beam, proximity, wait 2s, # comments).")
    var script: String?

    @Flag(help: "Drop items from the keyboard (Enter or 'o'; 'q' quits).")
    var keyboard = false

    @Option(help: "Seed for the order of images and the item timing.")
    var seed: UInt64 = 1

    @Option(name: .customLong("compartment-capacity"), help: "Items every compartment holds (count-based fill level; overrides fill.capacity and fill.capacities).")
    var compartmentCapacity: Int?

    @Option(name: .customLong("flush-timeout"), help: "Seconds to wait at the end for the broker to acknowledge every event.")
    var flushTimeout: Double = 30

    func validate() throws {
        if let items, items < 0 { throw ValidationError("--items must be 0 or more") }
        if let rate, !(rate > 0) { throw ValidationError("--rate must be a positive number of items per second") }
        if let compartmentCapacity, compartmentCapacity < 1 { throw ValidationError("--compartment-capacity must be 1 or more items") }
    }

    func run() async throws {
        var config: SmartBinConfig
        do { config = try common.loadConfig() } catch { throw fail("\(error)") }
        if let compartmentCapacity {
            config.controller.fill.capacity = compartmentCapacity
            config.controller.fill.capacities = [:]
        }
        var options = SimulatedBin.Options()
        options.items = items
        options.rate = rate
        options.images = images
        options.script = script
        options.keyboard = keyboard
        options.dataDirectory = common.dataDir
        options.seed = seed
        options.flushTimeout = .milliseconds(Int(max(0, flushTimeout) * 1000))
        let logger = Logger(label: "smartbin")
        do {
            let pending = try await SimulatedBin(config: config, options: options, logger: logger).run()
            if pending > 0 {
                print("\(pending) event(s) not yet acknowledged by the broker are kept in the outbox and will be sent on the next start")
            }
        } catch {
            throw fail("\(error)")
        }
    }
}

/// Options shared by the commands that run the bin; each replaces its config-file key.
struct CommonOptions: ParsableArguments {
    @Option(help: "Configuration file (TOML).")
    var config: String?

    @Option(help: "MQTT broker as HOST:PORT (overrides mqtt.host and mqtt.port).")
    var broker: String?

    @Option(name: .customLong("bin-id"), help: "This bin's id (client id and topic level).")
    var binID: String?

    @Option(help: "Fleet name (topic level).")
    var fleet: String?

    @Option(name: .customLong("client-id"), help: "MQTT client id (overrides mqtt.client_id; default: the bin id).")
    var clientID: String?

    @Option(help: "MQTT user name (overrides mqtt.username).")
    var username: String?

    @Option(name: .customLong("password-file"), help: "File holding the MQTT password (overrides mqtt.password_file). The password itself is never an option.")
    var passwordFile: String?

    @Flag(inversion: .prefixedNo, help: "Connect to the broker over TLS (overrides mqtt.tls).")
    var tls: Bool?

    @Option(name: .customLong("ca-file"), help: "CA certificate for TLS (overrides mqtt.ca_file).")
    var caFile: String?

    @Option(name: .customLong("cert-file"), help: "Client certificate for TLS (overrides mqtt.cert_file).")
    var certFile: String?

    @Option(name: .customLong("key-file"), help: "Client key for TLS (overrides mqtt.key_file).")
    var keyFile: String?

    @Option(name: .customLong("tls-version"), help: "tlsv1.2 or tlsv1.3 (overrides mqtt.tls_version).")
    var tlsVersion: String?

    @Option(name: .customLong("topic-prefix"), help: "First level of every topic (overrides mqtt.topic_prefix; default smartbin).")
    var topicPrefix: String?

    @Option(help: "Model file (.onnx or compiled .sbm).")
    var model: String?

    @Option(help: "Labels (.tsv map or one label per line).")
    var labels: String?

    @Option(help: "Threads for inference.")
    var threads: Int?

    @Option(name: .customLong("data-dir"), help: "Where durable state lives (the event outbox).")
    var dataDir: String?

    /// The command-line values, for `ConfigOverrides.apply(to:)`.
    var overrides: ConfigOverrides {
        var overrides = ConfigOverrides()
        overrides.broker = broker
        overrides.binID = binID
        overrides.fleet = fleet
        overrides.clientID = clientID
        overrides.username = username
        overrides.passwordFile = passwordFile
        overrides.tls = tls
        overrides.caFile = caFile
        overrides.certFile = certFile
        overrides.keyFile = keyFile
        overrides.tlsVersion = tlsVersion
        overrides.topicPrefix = topicPrefix
        overrides.model = model
        overrides.labels = labels
        overrides.threads = threads
        overrides.dataDirectory = dataDir
        return overrides
    }

    /// The config file (or defaults) with the command-line overrides applied.
    func loadConfig() throws -> SmartBinConfig {
        var config = try config.map { try ConfigLoader.load(path: $0) } ?? SmartBinConfig()
        try overrides.apply(to: &config)
        return config
    }
}
