import BinCore
import Foundation

/// Trigger edges from a script file, timed on the injected clock.
///
/// One step per line; `#` starts a comment:
/// ```
/// open            # lid opened
/// close           # lid closed
/// beam            # beam broken
/// proximity
/// wait 2s         # also 500ms, 1.5s, 1m
/// ```
/// The stream finishes after the last step.
public struct ScriptedTriggerSource: TriggerSource {
    public enum Step: Sendable, Hashable {
        case edge(TriggerKind)
        case wait(Duration)
    }

    /// The parsed steps with their line numbers.
    public let steps: [(step: Step, line: Int)]
    public let file: String
    private let clock: ClockSleep

    /// Parses a script.
    /// - Throws: `SimulationError.scriptSyntax` naming `file:line`.
    public init(script: String, file: String, clock: any Clock<Duration>) throws(SimulationError) {
        var steps: [(Step, Int)] = []
        for (offset, raw) in script.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = offset + 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = words.first else { continue }
            if first == "wait" {
                guard words.count == 2, let duration = Duration(parsing: words[1]) else {
                    throw SimulationError(.scriptSyntax, "\(file):\(line): expected 'wait <duration>' such as 'wait 2s' or 'wait 500ms'")
                }
                steps.append((.wait(duration), line))
            } else if let kind = TriggerKind(rawValue: String(first)), words.count == 1 {
                steps.append((.edge(kind), line))
            } else {
                throw SimulationError(.scriptSyntax, "\(file):\(line): unknown step '\(words.joined(separator: " "))' (expected open, close, beam, proximity or wait <duration>)")
            }
        }
        self.steps = steps
        self.file = file
        self.clock = ClockSleep(clock)
    }

    /// Reads and parses a script file.
    /// - Throws: `SimulationError` (`unreadable` or `scriptSyntax`).
    public init(contentsOfFile path: String, clock: any Clock<Duration>) throws(SimulationError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SimulationError(.unreadable, "\(path): \(error.localizedDescription)")
        }
        try self.init(script: text, file: path, clock: clock)
    }

    public func events() -> AsyncStream<TriggerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: TriggerEvent.self)
        let steps = self.steps
        let file = self.file
        let clock = self.clock
        let task = Task {
            for (step, line) in steps {
                switch step {
                case .edge(let kind):
                    continuation.yield(TriggerEvent(kind: kind, kernelTimestamp: clock.now(), source: "\(file):\(line)"))
                case .wait(let duration):
                    do { try await clock.sleep(duration) } catch { break }
                }
                if Task.isCancelled { break }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
