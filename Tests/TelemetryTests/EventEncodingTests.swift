import BinCore
import Foundation
import Testing
@testable import Telemetry

@Suite struct EventEncodingTests {
    private func parse(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func eventHasEveryKeyOfSchema1WithItsValue() throws {
        let event = TelemetryFixtures.event(seq: 42, id: "4b7c2f0e-0000-4000-8000-000000000001")
        let json = try parse(EventEncoding.encode(event))
        #expect(Set(json.keys) == ["schema", "id", "seq", "bin_id", "ts", "label", "class_index",
                                   "confidence", "top", "route", "fallback", "flap_angle_deg",
                                   "model", "timing_ms", "firmware"])
        #expect(json["schema"] as? Int == 1)
        #expect(json["id"] as? String == "4b7c2f0e-0000-4000-8000-000000000001")
        #expect(json["seq"] as? Int == 42)
        #expect(json["bin_id"] as? String == "bin-07")
        #expect(json["ts"] as? String == "2024-05-01T12:34:56.789Z")
        #expect(json["label"] as? String == "glass")
        #expect(json["class_index"] as? Int == 1)
        #expect(json["confidence"] as? Double == 0.93)
        let top = try #require(json["top"] as? [[String: Any]])
        #expect(top.count == 3)
        #expect(Set(top[0].keys) == ["label", "score"])
        #expect(top[0]["label"] as? String == "glass")
        #expect(top[1]["score"] as? Double == 0.05)
        #expect(json["route"] as? String == "recyclable")
        #expect(json["fallback"] as? Bool == false)
        #expect(json["flap_angle_deg"] as? Int == 45)
        let model = try #require(json["model"] as? [String: Any])
        #expect(Set(model.keys) == ["name", "sha256", "precision"])
        #expect(model["name"] as? String == "resnet50-trashnet")
        #expect(model["sha256"] as? String == String(repeating: "ab", count: 32))
        #expect(model["precision"] as? String == "int8")
        let timing = try #require(json["timing_ms"] as? [String: Any])
        #expect(Set(timing.keys) == ["capture", "preprocess", "inference", "actuate", "total"])
        #expect(timing["capture"] as? Double == 12.5)
        #expect(timing["preprocess"] as? Double == 3.25)
        #expect(timing["inference"] as? Double == 180.125)
        #expect(timing["actuate"] as? Double == 400)
        #expect(timing["total"] as? Double == 596.875)
        #expect(json["firmware"] as? String == "0.1.0")
    }

    @Test func keysAreWrittenInContractOrderOnOneLine() throws {
        let text = String(decoding: EventEncoding.encode(TelemetryFixtures.event()), as: UTF8.self)
        #expect(text.hasPrefix("{\"schema\":1,\"id\":"))
        #expect(!text.contains("\n"))
        let order = ["schema", "id", "seq", "bin_id", "ts", "label", "class_index", "confidence", "top",
                     "route", "fallback", "flap_angle_deg", "model", "timing_ms", "firmware"]
        let positions = try order.map { key in
            try #require(text.range(of: "\"\(key)\":")?.lowerBound, "key \(key)")
        }
        #expect(positions == positions.sorted())
        #expect(text.contains("\"flap_angle_deg\":45,"))
    }

    @Test func decodingAnEncodedEventGivesItBack() throws {
        let event = TelemetryFixtures.event(seq: 9)
        #expect(try EventEncoding.decodeEvent(EventEncoding.encode(event)) == event)
    }

    @Test func stringsAreEscaped() throws {
        let label = "quote\" back\\slash\nnew\tline \u{01} ünïcødé 🗑"
        var event = TelemetryFixtures.event(label: label)
        event.firmware = "v1/\"beta\""
        let bytes = EventEncoding.encode(event)
        #expect(!bytes.contains(0x0A))
        #expect(!bytes.contains(0x01))
        let json = try parse(bytes)
        #expect(json["label"] as? String == label)
        #expect(try EventEncoding.decodeEvent(bytes) == event)
    }

    @Test func nonFiniteNumbersBecomeNull() throws {
        var event = TelemetryFixtures.event()
        event.classification.confidence = .nan
        let json = try parse(EventEncoding.encode(event))
        #expect(json["confidence"] is NSNull)
    }

    @Test func decodingReportsTheMissingKey() throws {
        var json = try parse(EventEncoding.encode(TelemetryFixtures.event()))
        json.removeValue(forKey: "route")
        let bytes = Array(try JSONSerialization.data(withJSONObject: json))
        do {
            _ = try EventEncoding.decodeEvent(bytes)
            Issue.record("expected an error")
        } catch let error as TelemetryError {
            #expect(error.code == .malformedJSON)
            #expect(error.message.contains("'route'"))
        }
        #expect(throws: TelemetryError.self) { try EventEncoding.decodeEvent(Array("not json".utf8)) }
    }

    @Test func statusHasEveryKeyAndRoundTrips() throws {
        let status = BinStatus(state: "fault", faultReason: "camera timeout",
                               countsPerBin: ["recyclable": 3, "landfill": 1],
                               model: ModelInfo(name: "m", sha256: "00", precision: "fp32"),
                               uptimeSeconds: 12.5, triggersDuringCycle: 2)
        let bytes = EventEncoding.encode(status, timestamp: 0)
        let json = try parse(bytes)
        #expect(Set(json.keys) == ["schema", "state", "fault_reason", "counts", "model", "uptime_s",
                                   "triggers_during_cycle", "fill", "full_policy", "refusal", "clock_jumps",
                                   "last_clock_jump_s", "ts"])
        #expect(json["state"] as? String == "fault")
        #expect(json["fault_reason"] as? String == "camera timeout")
        #expect(json["counts"] as? [String: Int] == ["recyclable": 3, "landfill": 1])
        #expect(json["uptime_s"] as? Double == 12.5)
        #expect(json["ts"] as? String == "1970-01-01T00:00:00.000Z")
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"counts\":{\"landfill\":1,\"recyclable\":3}"))
        let decoded = try EventEncoding.decodeStatus(bytes)
        #expect(decoded.status == status)
        #expect(decoded.timestamp == 0)
    }

    /// `clock_jumps` and `last_clock_jump_s` round-trip; a document from before they existed
    /// decodes with none.
    @Test func statusCarriesClockJumpsAndOlderDocumentsDecodeWithout() throws {
        let status = BinStatus(state: "idle", clockJumps: 2, lastClockJumpSeconds: -7200.04)
        let bytes = EventEncoding.encode(status, timestamp: 5)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"clock_jumps\":2,\"last_clock_jump_s\":-7200,"))
        var expected = status
        expected.lastClockJumpSeconds = -7200
        #expect(try EventEncoding.decodeStatus(bytes).status == expected)
        #expect(try parse(EventEncoding.encode(BinStatus(state: "idle"), timestamp: 5))["last_clock_jump_s"] is NSNull)
        let older = #"{"schema":1,"state":"idle","fault_reason":null,"counts":{},"model":null,"uptime_s":1,"triggers_during_cycle":0,"fill":{},"ts":"2024-01-01T00:00:00.000Z"}"#
        let decoded = try EventEncoding.decodeStatus(Array(older.utf8)).status
        #expect(decoded.clockJumps == 0 && decoded.lastClockJumpSeconds == nil)
    }

    @Test func statusWithoutFaultOrModelWritesNull() throws {
        let json = try parse(EventEncoding.encode(BinStatus(state: "idle"), timestamp: 1))
        #expect(json["fault_reason"] is NSNull)
        #expect(json["model"] is NSNull)
        #expect(try EventEncoding.decodeStatus(EventEncoding.encode(BinStatus(state: "idle"), timestamp: 1)).status
                == BinStatus(state: "idle"))
    }

    @Test func rfc3339FormatsUTCWithMilliseconds() {
        #expect(RFC3339.format(0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(1_700_000_000.123) == "2023-11-14T22:13:20.123Z")
        #expect(RFC3339.format(1_709_208_000) == "2024-02-29T12:00:00.000Z")
        #expect(RFC3339.format(-1) == "1969-12-31T23:59:59.000Z")
        #expect(RFC3339.format(0.9996) == "1970-01-01T00:00:01.000Z")
    }

    @Test func rfc3339ParsesOffsetsAndFractions() {
        #expect(RFC3339.parse("2023-11-14T22:13:20.123Z").map { ($0 * 1000).rounded() } == 1_700_000_000_123)
        #expect(RFC3339.parse("2023-11-15T00:13:20+02:00") == 1_700_000_000)
        #expect(RFC3339.parse("2024-02-29T12:00:00Z") == 1_709_208_000)
        #expect(RFC3339.parse("2024-02-29 12:00:00") == nil)
        #expect(RFC3339.parse("yesterday") == nil)
    }
}
