import BinTestKit
import Foundation
import Testing

/// `deploy/install.sh` into a temporary root: what it lays down, with which modes and intended
/// owners; a second run changes nothing; `--uninstall` removes it and `--purge` the data too.
@Suite(.serialized) struct InstallScriptTests {
    static var script: String { SmartBinChildProcess.packageRoot + "/deploy/install.sh" }
    static let originalConfigTxt = "# Raspberry Pi config\ndtparam=audio=on\n\n[all]\n"

    /// Runs the installer into `root`; `yes: false` leaves the config.txt question to the (absent) terminal.
    func install(_ root: String, _ extra: [String] = [], yes: Bool = true) throws -> ToolRun {
        try ToolRun.run("/bin/bash", [Self.script, "--root", root, "--board", "pi5", "--binary", SmartBinChildProcess.binary,
                                      "--no-systemd"] + (yes ? ["--yes"] : []) + extra)
    }

    func uninstall(_ root: String, yes: Bool) throws -> ToolRun {
        try ToolRun.run("/bin/bash", [Self.script, "--root", root, "--uninstall", "--no-systemd"] + (yes ? ["--yes"] : []))
    }

    static let manifestPath = "usr/local/share/smartbin/install.manifest"

    /// The manifest's entries (comments dropped).
    func manifestEntries(_ root: String) throws -> [String] {
        try String(contentsOfFile: root + "/" + Self.manifestPath, encoding: .utf8)
            .split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    /// path → "mode size mtime sha" for every file, folder and link under `root`.
    func snapshot(_ root: String) throws -> [String: String] {
        var result: [String: String] = [:]
        let fm = FileManager.default
        for relative in fm.enumerator(atPath: root)?.compactMap({ $0 as? String }) ?? [] {
            let attributes = try fm.attributesOfItem(atPath: root + "/" + relative)
            let mode = String(format: "%o", (attributes[.posixPermissions] as? Int) ?? -1)
            let date = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            result[relative] = "\(mode) \(attributes[.size] ?? 0) \(date)"
        }
        return result
    }

    func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? -1
    }

    @Test func installsIdempotentlyAndUninstalls() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/boot/firmware", withIntermediateDirectories: true)
        try Self.originalConfigTxt.write(toFile: root + "/boot/firmware/config.txt", atomically: true, encoding: .utf8)

        let first = try install(root)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("not installing packages"), "packages must not be installed into a staging root")

        // Files and modes.
        let expected: [(String, Int)] = [
            ("usr/local/bin/smartbin", 0o755), ("etc/smartbin/config.toml", 0o640), ("etc/smartbin/board/pi5.toml", 0o644),
            ("etc/systemd/system/smartbin.service", 0o644), ("etc/udev/rules.d/60-smartbin.rules", 0o644),
            ("var/lib/smartbin", 0o750), ("var/lib/smartbin/outbox", 0o750), ("var/lib/smartbin/models", 0o750),
            ("var/lib/smartbin/models/incoming", 0o750),
        ]
        for (path, wanted) in expected {
            #expect(mode(root + "/" + path) == wanted, "\(path): mode \(String(mode(root + "/" + path), radix: 8)), wanted \(String(wanted, radix: 8))")
        }
        #expect(fm.contentsEqual(atPath: root + "/usr/local/bin/smartbin", andPath: SmartBinChildProcess.binary))
        #expect(fm.contentsEqual(atPath: root + "/etc/systemd/system/smartbin.service", andPath: SmartBinChildProcess.packageRoot + "/deploy/smartbin.service"))
        #expect(fm.contentsEqual(atPath: root + "/etc/smartbin/board/pi5.toml", andPath: SmartBinChildProcess.packageRoot + "/board/pi5.toml"))
        let config = try String(contentsOfFile: root + "/etc/smartbin/config.toml", encoding: .utf8)
        #expect(config.contains("\nboard = \"pi5\""), "bin.board is set to the board")
        #expect(config.contains("# data_dir = \"/var/lib/smartbin\""), "the config is the commented template")

        // Intended owners and the service user, recorded (the host's /etc is never touched).
        let manifest = try String(contentsOfFile: root + "/usr/local/share/smartbin/install.manifest", encoding: .utf8)
        let lines = Set(manifest.split(separator: "\n").map { $0.split(separator: " ").prefix(4).joined(separator: " ") })
        for line in ["file /usr/local/bin/smartbin 0755 root:root", "file /etc/smartbin/config.toml 0640 root:smartbin",
                     "data /var/lib/smartbin 0750 smartbin:smartbin", "data /var/lib/smartbin/outbox 0750 smartbin:smartbin",
                     "data /var/lib/smartbin/models 0750 smartbin:smartbin", "file /etc/systemd/system/smartbin.service 0644 root:root",
                     "member gpio smartbin", "member video smartbin"] {
            #expect(lines.contains(line), "manifest lacks '\(line)':\n\(manifest)")
        }
        #expect(manifest.contains("passwd smartbin:x:"))

        // config.txt: the board's overlay appended in a marked block, the rest untouched.
        let configTxt = try String(contentsOfFile: root + "/boot/firmware/config.txt", encoding: .utf8)
        #expect(configTxt.hasPrefix(Self.originalConfigTxt))
        #expect(configTxt.contains("\ndtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4\n"), "\(configTxt)")

        // Idempotent: nothing changes the second time.
        let before = try snapshot(root)
        let second = try install(root)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("0 change(s)"), "\(second.output)")
        #expect(try snapshot(root) == before, "the second run changed files")

        // Uninstall: our files go, the data stays, config.txt is as it was.
        try "pending".write(toFile: root + "/var/lib/smartbin/outbox/keep-me", atomically: true, encoding: .utf8)
        let removed = try ToolRun.run("/bin/bash", [Self.script, "--root", root, "--uninstall", "--yes", "--no-systemd"])
        #expect(removed.status == 0, "\(removed.output)")
        for path in ["usr/local/bin/smartbin", "etc/smartbin/config.toml", "etc/smartbin/board/pi5.toml", "etc/systemd/system/smartbin.service",
                     "etc/udev/rules.d/60-smartbin.rules", "usr/local/share/smartbin/install.manifest"] {
            #expect(!fm.fileExists(atPath: root + "/" + path), "\(path) left behind")
        }
        #expect(fm.fileExists(atPath: root + "/var/lib/smartbin/outbox/keep-me"), "data must survive --uninstall")
        #expect(try String(contentsOfFile: root + "/boot/firmware/config.txt", encoding: .utf8) == Self.originalConfigTxt)

        // Reinstall, then purge: the data goes too.
        #expect(try install(root).status == 0)
        let purged = try ToolRun.run("/bin/bash", [Self.script, "--root", root, "--uninstall", "--purge", "--yes", "--no-systemd"])
        #expect(purged.status == 0, "\(purged.output)")
        #expect(!fm.fileExists(atPath: root + "/var/lib/smartbin"))
        #expect(!fm.fileExists(atPath: root + "/etc/smartbin"))
    }

    @Test func anEditedConfigIsKeptOnReinstallAndUninstall() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try install(root).status == 0)
        let path = root + "/etc/smartbin/config.toml"
        let edited = try String(contentsOfFile: path, encoding: .utf8) + "\n[mqtt]\nhost = \"broker.lan\"\n"
        try edited.write(toFile: path, atomically: true, encoding: .utf8)
        let again = try install(root)
        #expect(again.output.contains("kept your"), "\(again.output)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == edited)
        let removed = try ToolRun.run("/bin/bash", [Self.script, "--root", root, "--uninstall", "--yes", "--no-systemd"])
        #expect(removed.status == 0)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == edited, "an edited config survives --uninstall")
    }

    @Test func uninstallWithoutATerminalKeepsTheConfigTxtBlockForALaterYes() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        let configTxt = root + "/boot/firmware/config.txt"
        try fm.createDirectory(atPath: root + "/boot/firmware", withIntermediateDirectories: true)
        try Self.originalConfigTxt.write(toFile: configTxt, atomically: true, encoding: .utf8)
        let installed = try install(root)
        #expect(installed.status == 0, "\(installed.output)")
        let withBlock = try String(contentsOfFile: configTxt, encoding: .utf8)
        #expect(withBlock.contains("# >>> smartbin"), "\(withBlock)")

        // No terminal, no --yes: everything else goes, the block and its manifest entry stay.
        let first = try uninstall(root, yes: false)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("remove the SmartBin lines from \(configTxt)? — not asked (no terminal)"), "\(first.output)")
        #expect(try String(contentsOfFile: configTxt, encoding: .utf8) == withBlock, "the block must stay when not asked")
        for path in ["usr/local/bin/smartbin", "etc/smartbin/config.toml", "etc/systemd/system/smartbin.service"] {
            #expect(!fm.fileExists(atPath: root + "/" + path), "\(path) left behind")
        }
        #expect(try manifestEntries(root) == ["block /boot/firmware/config.txt"])

        // Asking again without a terminal changes nothing.
        let again = try uninstall(root, yes: false)
        #expect(again.status == 0 && again.output.contains("0 change(s)"), "\(again.output)")
        #expect(try manifestEntries(root) == ["block /boot/firmware/config.txt"])

        // With --yes the block goes, and with it the manifest and its folder.
        let second = try uninstall(root, yes: true)
        #expect(second.status == 0, "\(second.output)")
        #expect(try String(contentsOfFile: configTxt, encoding: .utf8) == Self.originalConfigTxt)
        #expect(!fm.fileExists(atPath: root + "/" + Self.manifestPath))
        #expect(!fm.fileExists(atPath: root + "/usr/local/share/smartbin"))
    }

    @Test func aDeclinedConfigTxtQuestionLeavesConfigTxtAlone() throws {
        let fm = FileManager.default
        // A staging root without a boot partition: no config.txt appears.
        let bare = try temporaryDirectory()
        defer { try? fm.removeItem(atPath: bare) }
        let run = try install(bare, yes: false)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("not asked (no terminal)") && run.output.contains("config.txt unchanged"), "\(run.output)")
        #expect(!fm.fileExists(atPath: bare + "/boot/firmware/config.txt"), "a declined question must not create config.txt")
        #expect(!fm.fileExists(atPath: bare + "/boot"), "nor its folder")
        #expect(try !manifestEntries(bare).contains { $0.hasPrefix("block ") })
        // Idempotent without the answer too.
        #expect(try install(bare, yes: false).output.contains("0 change(s)"))

        // An existing config.txt stays byte for byte.
        let root = try temporaryDirectory()
        defer { try? fm.removeItem(atPath: root) }
        try fm.createDirectory(atPath: root + "/boot/firmware", withIntermediateDirectories: true)
        try Self.originalConfigTxt.write(toFile: root + "/boot/firmware/config.txt", atomically: true, encoding: .utf8)
        #expect(try install(root, yes: false).status == 0)
        #expect(try String(contentsOfFile: root + "/boot/firmware/config.txt", encoding: .utf8) == Self.originalConfigTxt)
        #expect(try !manifestEntries(root).contains { $0.hasPrefix("block ") })
    }

    @Test func refusesAnUnknownBoard() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let run = try ToolRun.run("/bin/bash", [Self.script, "--root", root, "--board", "pi9", "--binary", SmartBinChildProcess.binary, "--yes"])
        #expect(run.status != 0)
        #expect(run.output.contains("board/pi9.toml"), "\(run.output)")
    }
}
