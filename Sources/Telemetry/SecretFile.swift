import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a credential (the MQTT password) from a file that only its owner may read.
///
/// The firmware (`mqtt.password_file`) and the dashboard (`--password-file`) both read their
/// password through this, so both refuse the same files: a file whose mode gives group or
/// others any access (`chmod 600` and ownership by the service user are the fix), an unreadable
/// file, or one that holds nothing but whitespace.
public enum SecretFile {
    /// Reads the secret in `path`, without its surrounding whitespace and trailing newline.
    /// Blocks on `stat` and one read.
    /// - Parameter what: what the file is, for the message (e.g. `mqtt.password_file`).
    /// - Throws: `TelemetryError` `.secretFile` naming the file (and its mode when that is the
    ///   reason), in one line.
    public static func read(_ path: String, what: String) throws(TelemetryError) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw TelemetryError(.secretFile, "\(path) (\(what)): cannot read it: \(String(cString: strerror(errno)))")
        }
        let mode = Int(st.st_mode) & 0o7777
        guard mode & 0o077 == 0 else {
            throw TelemetryError(.secretFile, "\(path) (\(what)) has mode \(String(format: "%04o", mode)): group or others have access to it, so it is refused: chmod 600 \(path) and make the user the service runs as its owner")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TelemetryError(.secretFile, "\(path) (\(what)): cannot read it (it must be owned by the user the service runs as, mode 600)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw TelemetryError(.secretFile, "\(path) (\(what)) is empty") }
        return text
    }
}
