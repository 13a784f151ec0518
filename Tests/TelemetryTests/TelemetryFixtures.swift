import BinCore
import Foundation

/// Sample events and temporary directories for the Telemetry tests.
enum TelemetryFixtures {
    static func event(seq: UInt64 = 7, label: String = "glass", id: String = UUID().uuidString) -> BinEvent {
        BinEvent(
            id: id, seq: seq, binID: "bin-07",
            timestamp: 1_714_566_896.789,
            classification: Classification(
                label: label, classIndex: 1, confidence: 0.93,
                top: [LabelScore(label: label, score: 0.93), LabelScore(label: "plastic", score: 0.05),
                      LabelScore(label: "paper", score: 0.02)]),
            route: Route(bin: "recyclable", angleDegrees: 45, fallback: false),
            model: ModelInfo(name: "resnet50-trashnet", sha256: String(repeating: "ab", count: 32),
                             precision: "int8"),
            timings: StageTimings(capture: 12.5, preprocess: 3.25, inference: 180.125,
                                  actuate: 400, total: 596.875),
            firmware: "0.1.0")
    }

    static func temporaryDirectory(_ name: String = "outbox") -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("smartbin-telemetry-\(UUID().uuidString)")
            .appendingPathComponent(name)
        return url.path
    }
}
