/// The firmware version reported by `--version` and in every event.
enum SmartBinVersion {
    static let string = "0.1.0"
}
