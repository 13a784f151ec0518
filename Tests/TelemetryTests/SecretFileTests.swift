import Foundation
import Telemetry
import Testing

@Suite struct SecretFileTests {
    /// A file holding `text` with `mode`, in a fresh directory; returns its path.
    func file(_ text: String, mode: Int) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/mqtt.password"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test(arguments: [0o600, 0o400])
    func ownerOnlyFileIsReadWithoutItsNewline(mode: Int) throws {
        let path = try file("s3cret-pass\n", mode: mode)
        #expect(try SecretFile.read(path, what: "mqtt.password_file") == "s3cret-pass")
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o620, 0o666])
    func fileOthersCanReachIsRefusedNamingItsMode(mode: Int) throws {
        let path = try file("s3cret-pass\n", mode: mode)
        let error = #expect(throws: TelemetryError.self) { try SecretFile.read(path, what: "mqtt.password_file") }
        #expect(error?.code == .secretFile)
        let message = error?.message ?? ""
        #expect(message.hasPrefix("\(path) (mqtt.password_file) has mode \(String(format: "%04o", mode))"), "\(message)")
        #expect(message.contains("chmod 600 \(path)"), "\(message)")
        #expect(!message.contains("s3cret"), "the refusal must not show the secret")
        #expect(!message.contains("\n"))
    }

    @Test func missingOrEmptyFileIsRefused() throws {
        let empty = try file(" \n", mode: 0o600)
        #expect(throws: TelemetryError(.secretFile, "\(empty) (--password-file) is empty")) {
            try SecretFile.read(empty, what: "--password-file")
        }
        let missing = empty + ".missing"
        let error = #expect(throws: TelemetryError.self) { try SecretFile.read(missing, what: "--password-file") }
        #expect(error?.message.hasPrefix("\(missing) (--password-file): cannot read it") == true, "\(String(describing: error))")
    }
}
