import BinTestKit
import Foundation
import Testing

/// Runs a command line tool and collects its exit status and output (stdout + stderr).
struct ToolRun {
    var status: Int32
    var output: String

    static func which(_ tool: String) -> String? {
        for folder in ["/usr/bin", "/bin", "/usr/local/bin", "/usr/sbin", "/sbin"] where FileManager.default.isExecutableFile(atPath: folder + "/" + tool) {
            return folder + "/" + tool
        }
        return nil
    }

    /// Runs `executable` with `arguments` in the package root and waits for it.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ToolRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: SmartBinChildProcess.packageRoot)
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("smartbin-tool-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? handle.close()
        return ToolRun(status: process.terminationStatus, output: (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    /// True when a missing tool may skip a test: never on CI (`CI=true`).
    static var mayskip: Bool { ProcessInfo.processInfo.environment["CI"] != "true" }
}

/// The deploy files pass the tools that judge them: `shellcheck` for the scripts and
/// `systemd-analyze verify` for the unit (on a staged root, so that its ExecStart exists).
@Suite(.serialized) struct DeployToolTests {
    @Test func installScriptsPassShellcheck() throws {
        guard let shellcheck = ToolRun.which("shellcheck") else {
            if ToolRun.mayskip { print("skipped: shellcheck is not installed (tools/setup.sh installs it)"); return }
            Issue.record("shellcheck is not installed (CI=true)")
            return
        }
        let scripts = try FileManager.default.contentsOfDirectory(atPath: SmartBinChildProcess.packageRoot + "/deploy")
            .filter { $0.hasSuffix(".sh") }.sorted().map { "deploy/" + $0 }
        #expect(!scripts.isEmpty)
        let run = try ToolRun.run(shellcheck, scripts)
        #expect(run.status == 0, "shellcheck \(scripts.joined(separator: " ")):\n\(run.output)")
    }

    /// Verifies `unit` inside a staged root holding the installed binary and the host's system units.
    static func verify(unitText: String) throws -> ToolRun? {
        guard let analyze = ToolRun.which("systemd-analyze") else { return nil }
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/usr/local/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/etc/systemd/system", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/usr/lib/systemd", withIntermediateDirectories: true)
        try fm.copyItem(atPath: SmartBinChildProcess.binary, toPath: root + "/usr/local/bin/smartbin")
        // The targets the unit refers to (network-online.target, multi-user.target, ...).
        for folder in ["/usr/lib/systemd/system", "/lib/systemd/system"] where fm.fileExists(atPath: folder) {
            try fm.copyItem(atPath: folder, toPath: root + "/usr/lib/systemd/system")
            break
        }
        let unit = root + "/etc/systemd/system/smartbin.service"
        try unitText.write(toFile: unit, atomically: true, encoding: .utf8)
        return try ToolRun.run(analyze, ["verify", "--man=no", "--root=" + root, unit])
    }

    /// Lines that name the unit file and a line number are unit errors ("Unknown key", "Failed
    /// to parse"); systemd-analyze logs them but still exits 0, so they are looked for.
    static func unitErrors(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.range(of: #"smartbin\.service:\d+:"#, options: .regularExpression) != nil }
    }

    /// Messages about the environment (no systemd as PID 1 in a container), not about the unit.
    static func isEnvironmentMessage(_ line: String) -> Bool {
        ["PID 1", "PID1", "not been booted with systemd", "Failed to connect to bus", "Unit sysinit.target not found",
         "Failed to create smartbin.service/start"].contains { line.contains($0) }
    }

    @Test func unitPassesSystemdAnalyzeVerify() throws {
        let text = try String(contentsOfFile: SmartBinChildProcess.packageRoot + "/deploy/smartbin.service", encoding: .utf8)
        guard let run = try Self.verify(unitText: text) else {
            if ToolRun.mayskip { print("skipped: systemd-analyze is not installed (apt install systemd)"); return }
            Issue.record("systemd-analyze is not installed (CI=true)")
            return
        }
        #expect(Self.unitErrors(run.output).isEmpty, "unit errors:\n\(run.output)")
        if run.status != 0 {
            let other = run.output.split(separator: "\n").map(String.init).filter { !Self.isEnvironmentMessage($0) }
            #expect(other.isEmpty, "systemd-analyze verify exited \(run.status):\n\(run.output)")
        }
        for required in ["Type=notify", "WatchdogSec=30", "Restart=on-failure", "ProtectSystem=strict", "ReadWritePaths=/var/lib/smartbin",
                         "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes", "DevicePolicy=closed", "DeviceAllow=char-gpiochip rw",
                         "DeviceAllow=char-video4linux rw", "SupplementaryGroups=gpio video", "User=smartbin",
                         "ExecStart=/usr/local/bin/smartbin run --config /etc/smartbin/config.toml"] {
            #expect(text.split(separator: "\n").contains { $0 == required[...] }, "unit lacks \(required)")
        }
        #expect(text.contains("/sys/class/pwm"))
    }

    @Test func verifyCatchesABrokenUnit() throws {
        var text = try String(contentsOfFile: SmartBinChildProcess.packageRoot + "/deploy/smartbin.service", encoding: .utf8)
        text = text.replacingOccurrences(of: "Type=notify", with: "Type=notfy")
            .replacingOccurrences(of: "WatchdogSec=30", with: "WatchdogSek=30")
        guard let run = try Self.verify(unitText: text) else { return }
        let errors = Self.unitErrors(run.output)
        #expect(errors.contains { $0.contains("notfy") }, "\(run.output)")
        #expect(errors.contains { $0.contains("WatchdogSek") }, "\(run.output)")
    }
}
