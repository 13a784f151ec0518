import BinCore

/// Everything the firmware is configured with, one struct per TOML section, with defaults.
///
/// Keys (all optional; `smartbin config` prints a commented file with every default):
///
/// | key | type | default |
/// | --- | --- | --- |
/// | `bin.id` | string | `bin-1` (also the MQTT client id) |
/// | `bin.fleet` | string | `default` |
/// | `bin.board` | string | `generic` (a profile in `board/`, or a file path) |
/// | `model.path` | string | none: `simulate` falls back to `out/models/resnet50-v1-keras-6.onnx` |
/// | `model.labels` | string | built-in map by output count |
/// | `model.preset` | string | `torch` or `caffe`; by model layout |
/// | `model.threads` | integer | 1 |
/// | `mqtt.host` / `mqtt.port` | string / integer | `127.0.0.1` / 1883 |
/// | `mqtt.client_id` | string | `bin.id` |
/// | `mqtt.username` | string | none |
/// | `mqtt.password_file` | string | none (a file readable only by the service user) |
/// | `mqtt.topic_prefix` | string | `smartbin` |
/// | `mqtt.keepalive_s` | integer | 30 |
/// | `mqtt.tls` | bool | false |
/// | `mqtt.ca_file`, `mqtt.cert_file`, `mqtt.key_file` | string | none |
/// | `mqtt.tls_version` | string | `tlsv1.2` |
/// | `mqtt.home_assistant_discovery` | bool | false (retained Home Assistant discovery configs, one sensor per tracked compartment's fill level) |
/// | `mqtt.home_assistant_prefix` | string | `homeassistant` (Home Assistant's discovery prefix) |
/// | `routing.confidence_threshold` | float | 0.6 |
/// | `routing.fallback_bin` | string | `other` |
/// | `timing.debounce_ms`, `timing.settle_ms`, `timing.dwell_ms` | integer | 50, 300, 800 |
/// | `timeouts.capture_ms`, `.classify_ms`, `.actuate_ms`, `.record_ms` | integer | 2000, 5000, 2000, 5000 |
/// | `retry.max_attempts` | integer | 3 |
/// | `retry.initial_backoff_ms`, `retry.max_backoff_ms` | integer | 1000, 30000 |
/// | `retry.multiplier` | float | 2 |
/// | `flap.home_deg` | float | the board profile's `servo.home_degrees`; 0 once `[flap]` is in the file |
/// | `flap.angles` | table of float | the board profile's `[servo.angles]` (`run` and `simulate`); once `[flap]` is in the file: recyclable 45, other 135, kitchen 90, hazardous 170 |
/// | `storage.data_dir` | string | `/var/lib/smartbin` (`simulate`: a folder under the system temp dir) |
/// | `storage.outbox_max_mb` | integer | 64 |
/// | `simulation.images` | string | `../shared/data/trashnet` when present |
/// | `simulation.rate` | float | 1.0 triggers per second |
/// | `simulation.script` | string | none |
/// | `fill.capacity` | integer | none (items every compartment holds; enables the count estimate) |
/// | `fill.capacities` | table of integer | none (per compartment, overrides `fill.capacity`) |
/// | `fill.nearly_full`, `fill.full` | float | 0.8, 0.95 (alert thresholds, 0...1) |
/// | `fill.rearm_margin` | float | 0.1 (a threshold alerts again after the level fell this far below it) |
/// | `fill.policy` | string | `keep_routing` (or `fallback`, `refuse`: what a full compartment's items do) |
/// | `fill.emptied_drop` | float | 0.5 (a sensor level drop this large counts as emptied) |
public struct SmartBinConfig: Sendable {
    public struct Bin: Sendable {
        public var id = "bin-1"
        public var fleet = "default"
        public var board = "generic"
    }

    public struct Model: Sendable {
        public var path: String?
        public var labels: String?
        public var preset: String?
        public var threads = 1
    }

    public struct MQTT: Sendable {
        public var host = "127.0.0.1"
        public var port = 1883
        public var clientID: String?
        public var username: String?
        public var passwordFile: String?
        public var topicPrefix = "smartbin"
        public var keepAliveSeconds = 30
        public var tls = false
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var tlsVersion = "tlsv1.2"
        /// Publish Home Assistant discovery configs for the fill levels on every connect.
        public var homeAssistantDiscovery = false
        public var homeAssistantPrefix = "homeassistant"
    }

    public struct Storage: Sendable {
        public var dataDirectory: String?
        public var outboxMaxMegabytes = 64
    }

    public struct Simulation: Sendable {
        public var images: String?
        public var rate = 1.0
        public var script: String?
    }

    public var bin = Bin()
    public var model = Model()
    public var mqtt = MQTT()
    public var controller = BinConfig(flap: .init(homeDegrees: 0, angles: [
        "recyclable": 45, "kitchen": 90, "other": 135, "hazardous": 170,
    ]))
    /// True when the config file set `[flap]` itself (otherwise the board profile's angles apply).
    public var flapAnglesFromConfig = false
    public var storage = Storage()
    public var simulation = Simulation()

    public init() {}
}
