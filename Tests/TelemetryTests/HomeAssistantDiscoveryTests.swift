import Foundation
import Testing
@testable import Telemetry

/// The Home Assistant discovery payloads (pure); over a real broker in IntegrationTests'
/// `HomeAssistantDiscoveryOverMQTTTests`.
@Suite struct HomeAssistantDiscoveryTests {
    static let layout = TopicLayout(fleet: "north", binID: "street-12")

    func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func sensorConfigReadsTheCompartmentFromTheStateTopic() throws {
        let discovery = HomeAssistantDiscovery(layout: Self.layout, firmware: "1.2.3")
        #expect(discovery.configTopic("recyclable") == "homeassistant/sensor/street-12_recyclable_fill/config")
        let bytes = discovery.config("recyclable")
        #expect(!bytes.contains(UInt8(ascii: "\n")))
        let object = try json(bytes)
        #expect(Set(object.keys) == ["name", "unique_id", "state_topic", "value_template", "unit_of_measurement",
                                     "state_class", "icon", "json_attributes_topic", "json_attributes_template",
                                     "availability", "device", "origin"])
        #expect(object["state_topic"] as? String == Self.layout.state)
        #expect(object["value_template"] as? String == "{{ (value_json.fill['recyclable'].level * 100) | round(1) }}")
        #expect(object["unit_of_measurement"] as? String == "%")
        #expect(object["unique_id"] as? String == "smartbin_north_street-12_recyclable_fill")
        let availability = (object["availability"] as? [[String: Any]])?.first
        #expect(availability?["topic"] as? String == "smartbin/north/street-12/available")
        let device = object["device"] as? [String: Any]
        #expect(device?["identifiers"] as? [String] == ["smartbin_north_street-12"])
        #expect(device?["sw_version"] as? String == "1.2.3" && device?["name"] as? String == "SmartBin street-12")
    }

    @Test func namesAreMadeSafeForTopicsAndTemplates() throws {
        let discovery = HomeAssistantDiscovery(prefix: "ha", layout: TopicLayout(prefix: "bins", fleet: "f", binID: "bin.7"),
                                               firmware: "0.1.0")
        #expect(discovery.configTopic("glass & metal") == "ha/sensor/bin_7_glass___metal_fill/config")
        #expect(discovery.configTopic("纸") == "ha/sensor/bin_7___fill/config")
        let object = try json(discovery.config("o'brien"))
        #expect(object["value_template"] as? String == #"{{ (value_json.fill['o\'brien'].level * 100) | round(1) }}"#)
        #expect(object["state_topic"] as? String == "bins/f/bin.7/state")
    }

    @Test func untrackedCompartmentsGetAnEmptyPayloadThatRemovesThem() {
        let discovery = HomeAssistantDiscovery(layout: Self.layout, firmware: "1")
        let messages = discovery.messages(tracked: ["other", "paper"], untracked: ["kitchen", "other"])
        #expect(messages.map(\.topic) == ["homeassistant/sensor/street-12_other_fill/config",
                                          "homeassistant/sensor/street-12_paper_fill/config",
                                          "homeassistant/sensor/street-12_kitchen_fill/config"])
        #expect(messages.map(\.payload.isEmpty) == [false, false, true])
    }
}
