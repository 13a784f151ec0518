import ArgumentParser
import Foundation
import SmartBinApp

/// `smartbin config`: check a configuration file, or print the commented default one.
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a configuration file or print the commented default configuration.",
        subcommands: [Check.self, Template.self])

    /// `smartbin config check FILE`.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate FILE: syntax, keys and types, then the board profile, model, password and TLS files. Exit 1 on any error.")

        @Argument(help: "The configuration file (TOML).")
        var file: String

        func run() throws {
            let findings = ConfigCheck.check(path: file)
            for finding in findings { print(finding) }
            let errors = findings.filter { $0.severity == .error }.count
            if errors > 0 {
                print("\(file): \(errors) error(s)")
                throw ExitCode(1)
            }
            print("\(file): ok" + (findings.isEmpty ? "" : " (\(findings.count) warning(s))"))
        }
    }

    /// `smartbin config template`.
    struct Template: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the configuration with every key commented out at its default.")

        @Option(help: "Set bin.board to this profile (pi4, pi5, zero2w, generic).")
        var board: String?

        func run() throws {
            print(ConfigTemplate.text(board: board), terminator: "")
        }
    }
}
