/// Home Assistant MQTT discovery for a bin's fill levels (pure): one retained sensor config per
/// compartment, so Home Assistant shows each compartment's level without any YAML.
///
/// Topic: `<prefix>/sensor/<bin_id>_<compartment>_fill/config` (the object id keeps `A-Z a-z 0-9
/// _ -`; any other character becomes `_`). Payload: a sensor in % whose state comes from the
/// bin's retained `…/state` (`value_template` reads `fill.<compartment>.level`, 0...1, × 100),
/// with that compartment's whole fill object as attributes, availability from `…/available`
/// (`online` is available; `offline`, the Last Will, and `stopped` are not), and a device block
/// (identifiers, name with the bin id, firmware as `sw_version`) shared by the bin's sensors.
/// An empty retained payload on a config topic removes that sensor again.
public struct HomeAssistantDiscovery: Sendable, Hashable {
    /// One message to publish retained (QoS 1).
    public struct Message: Sendable, Hashable {
        public var topic: String
        /// The config JSON, or empty to remove the sensor.
        public var payload: [UInt8]
    }

    /// Discovery prefix Home Assistant listens on (`homeassistant` unless reconfigured there).
    public var prefix: String
    public var layout: TopicLayout
    public var firmware: String

    public init(prefix: String = "homeassistant", layout: TopicLayout, firmware: String) {
        self.prefix = prefix
        self.layout = layout
        self.firmware = firmware
    }

    /// The messages for a bin: a config for every compartment in `tracked` (those with a count
    /// or a sensor estimate) and an empty payload for every one in `untracked`, which removes a
    /// sensor published while it was tracked. Sorted by compartment.
    public func messages(tracked: some Sequence<String>, untracked: some Sequence<String> = [String]()) -> [Message] {
        Set(tracked).sorted().map { Message(topic: configTopic($0), payload: config($0)) }
            + Set(untracked).subtracting(tracked).sorted().map { Message(topic: configTopic($0), payload: []) }
    }

    /// `<prefix>/sensor/<bin_id>_<compartment>_fill/config`.
    public func configTopic(_ compartment: String) -> String {
        "\(prefix)/sensor/\(Self.objectID("\(layout.binID)_\(compartment)_fill"))/config"
    }

    /// The sensor config of `compartment`, compact JSON.
    public func config(_ compartment: String) -> [UInt8] {
        let fill = "value_json.fill['\(Self.jinjaQuoted(compartment))']"
        var w = JSONWriter()
        w.beginObject()
        w.key("name"); w.string("\(compartment) fill")
        w.key("unique_id"); w.string(Self.objectID("smartbin_\(layout.fleet)_\(layout.binID)_\(compartment)_fill"))
        w.key("state_topic"); w.string(layout.state)
        w.key("value_template"); w.string("{{ (\(fill).level * 100) | round(1) }}")
        w.key("unit_of_measurement"); w.string("%")
        w.key("state_class"); w.string("measurement")
        w.key("icon"); w.string("mdi:delete-variant")
        w.key("json_attributes_topic"); w.string(layout.state)
        w.key("json_attributes_template"); w.string("{{ \(fill) | tojson }}")
        w.key("availability")
        w.beginArray()
        w.beginObject()
        w.key("topic"); w.string(layout.available)
        w.key("value_template"); w.string("{{ 'online' if value == 'online' else 'offline' }}")
        w.key("payload_available"); w.string("online")
        w.key("payload_not_available"); w.string("offline")
        w.endObject()
        w.endArray()
        w.key("device")
        w.beginObject()
        w.key("identifiers")
        w.beginArray()
        w.string(Self.objectID("smartbin_\(layout.fleet)_\(layout.binID)"))
        w.endArray()
        w.key("name"); w.string("SmartBin \(layout.binID)")
        w.key("manufacturer"); w.string("SmartBin")
        w.key("model"); w.string("SmartBin waste bin")
        w.key("sw_version"); w.string(firmware)
        w.endObject()
        w.key("origin")
        w.beginObject()
        w.key("name"); w.string("smartbin")
        w.key("sw_version"); w.string(firmware)
        w.endObject()
        w.endObject()
        return w.bytes
    }

    /// `text` with every character outside `A-Z a-z 0-9 _ -` replaced by `_` (Home Assistant's
    /// rule for the object id in a discovery topic).
    public static func objectID(_ text: String) -> String {
        String(text.unicodeScalars.map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
                ? Character(scalar) : "_"
        })
    }

    /// `text` safe inside a single-quoted Jinja string.
    static func jinjaQuoted(_ text: String) -> String {
        var quoted = ""
        for character in text {
            if character == "\\" || character == "'" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted
    }
}
