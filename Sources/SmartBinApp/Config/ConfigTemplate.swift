/// The commented default configuration `smartbin config template` prints and
/// `deploy/install.sh` installs as `/etc/smartbin/config.toml` (from its copy,
/// `deploy/config.template.toml`, which a test keeps identical).
///
/// Every key `ConfigLoader` knows appears once, commented out, with its default; uncommenting a
/// line without changing it changes nothing. A test checks both.
public enum ConfigTemplate {
    /// The template; with `board`, `bin.board` is set (uncommented) to it.
    public static func text(board: String? = nil) -> String {
        guard let board else { return template }
        return template.replacingOccurrences(of: "# board = \"generic\"", with: "board = \"\(board)\"")
    }

    static let template = #"""
    # SmartBin configuration (TOML). Every key is optional; each is shown commented out with its
    # default. `smartbin config check FILE` validates a file; unknown keys are errors.

    [bin]
    # id = "bin-1"                   # this bin's id: MQTT client id and topic level (no / # + or spaces)
    # fleet = "default"              # fleet name: topic level
    # board = "generic"              # board profile: pi4, pi5, zero2w, generic (in /etc/smartbin/board) or a file path

    [model]
    # path = "/var/lib/smartbin/models/first.onnx"   # the first model (no default for `run`); after an
    #                                # update_model, <data_dir>/models/current.onnx takes precedence
    # labels = "/etc/smartbin/labels.tsv"            # label map; default: built-in map by output count
    # preset = "torch"               # torch (RGB/255, mean/std) or caffe (BGR, mean); default by model layout
    # threads = 1                    # inference threads, 1...64

    [mqtt]
    # host = "127.0.0.1"
    # port = 1883                    # 1...65535
    # client_id = "bin-1"            # default: bin.id
    # username = "bin-1"             # no default
    # password_file = "/etc/smartbin/mqtt.password"  # no default; chmod 600, owned by the service user
    # topic_prefix = "smartbin"
    # keepalive_s = 30               # 5...3600
    # tls = false
    # ca_file = "/etc/ssl/certs/ca-certificates.crt" # no default
    # cert_file = "/etc/smartbin/bin.crt"            # no default (client certificate)
    # key_file = "/etc/smartbin/bin.key"             # no default (its key; chmod 600)
    # tls_version = "tlsv1.2"        # tlsv1.2 or tlsv1.3
    # home_assistant_discovery = false  # retained Home Assistant discovery configs: one sensor per
    #                                # compartment with a fill estimate, published on every connect
    # home_assistant_prefix = "homeassistant"      # Home Assistant's discovery prefix

    [routing]
    # confidence_threshold = 0.6     # below this the item goes to fallback_bin, 0...1
    # fallback_bin = "other"

    [timing]
    # debounce_ms = 50
    # settle_ms = 300                # wait after the lid closes before the frame
    # dwell_ms = 800                 # flap held open before returning home

    [timeouts]
    # capture_ms = 2000
    # classify_ms = 5000
    # actuate_ms = 2000
    # record_ms = 5000

    [retry]
    # max_attempts = 3
    # initial_backoff_ms = 1000
    # max_backoff_ms = 30000
    # multiplier = 2.0               # 1...10

    # [flap]
    # Uncomment the section to override the board profile's angles (degrees, 0...180); even an
    # empty [flap] replaces them with these defaults.
    # home_deg = 0.0
    # angles = { recyclable = 45.0, kitchen = 90.0, other = 135.0, hazardous = 170.0 }

    [storage]
    # data_dir = "/var/lib/smartbin" # outbox and models
    # outbox_max_mb = 64             # 1...65536

    [fill]
    # Fill levels and pick-up alerts (on smartbin/<fleet>/<bin_id>/alert). Without a capacity (or a
    # fill sensor in the board profile) no level is estimated. Fill sensors and "emptied" buttons are
    # wiring: the board profile's [fill.sensors.<compartment>] and [fill.buttons.<compartment>].
    # capacity = 40                  # items every compartment holds; no default
    # capacities = { recyclable = 60, other = 40 }   # per compartment, overrides capacity; no default
    # nearly_full = 0.8              # alert thresholds, 0...1
    # full = 0.95
    # rearm_margin = 0.1             # a threshold alerts again only after the level fell this far below it
    # policy = "keep_routing"        # full compartment: keep_routing, fallback (to fallback_bin) or refuse
    # emptied_drop = 0.5             # a measured level falling this much at once counts as emptied
    
    [simulation]
    # Only `smartbin simulate` reads these.
    # images = "/usr/share/smartbin/photos"          # default: the TrashNet sample photos when present
    # rate = 1.0                     # items per second
    # script = "/etc/smartbin/scenario.txt"          # no default

    """#
}
