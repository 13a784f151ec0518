import BinCore

/// Ready-made configuration for tests: the TrashNet classes, two compartments and short times.
public enum TestBins {
    public static let trashnetLabels = ["cardboard", "glass", "metal", "paper", "plastic", "trash"]

    /// TrashNet with `trash` → `other` and the rest → `recyclable` (as `maps/trashnet.tsv`).
    public static var trashnetMap: LabelMap {
        // Entries in index order with distinct labels: the map can be built without validation errors.
        var map = LabelMap(labels: trashnetLabels)
        do {
            map = try LabelMap(entries: trashnetLabels.enumerated().map { index, label in
                LabelMap.Entry(index: index, label: label, bin: label == "trash" ? "other" : "recyclable", english: label)
            })
        } catch {
            preconditionFailure("the TrashNet test map is invalid: \(error)")
        }
        return map
    }

    /// Debounce 50ms, settle 300ms, dwell 800ms; timeouts capture 2s, classify 5s, actuate 2s,
    /// record 5s; threshold 0.6, fallback `other`; 3 retries from 1s doubling to 30s; home 0°,
    /// recyclable 45°, other -45°.
    public static var config: BinConfig {
        BinConfig(flap: .init(homeDegrees: 0, angles: ["recyclable": 45, "other": -45]))
    }
}
