/// Facts about this build of the firmware.
public enum SmartBinApp {
    /// The firmware version reported by `--version` and in every event.
    public static let firmwareVersion = "0.1.0"
}
