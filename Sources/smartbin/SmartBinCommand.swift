import ArgumentParser
import Foundation
import Inference
import SmartBinApp
import Logging

/// The `smartbin` command: firmware entry point and developer tools.
@main
struct SmartBinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smartbin",
        abstract: "SmartBin: classify each item dropped in the bin, route it, report it over MQTT.",
        version: SmartBinApp.firmwareVersion,
        subcommands: [Run.self, Simulate.self, Classify.self, Eval.self, Bench.self, Model.self, Doctor.self, Config.self])

    static func main() async {
        // OpenBLAS picks its kernels at load time; restart once if it picked weak ones.
        BLASRuntime.correctCoreIfNeeded(arguments: CommandLine.arguments)
        let level = ProcessInfo.processInfo.environment["SMARTBIN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Ends the process with a one-line error naming the problem (no stack trace, exit code 1).
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("smartbin: error: \(message)\n".utf8))
    return ExitCode(1)
}
