import BinCore
import Foundation

/// Trigger edges and fill hardware reports from a script file, timed on the injected clock.
///
/// One step per line; `#` starts a comment:
/// ```
/// open            # lid opened
/// close           # lid closed
/// beam            # beam broken
/// proximity
/// wait 2s         # also 500ms, 1.5s, 1m
/// level other 85% # other's fill sensor reads 85 % (or 0.85)
/// button other    # other's "emptied" button is pressed
/// ```
/// `events()` replays the trigger steps and `observations()` (`FillSensor`) the fill steps, each
/// keeping the waits, so both follow the script's timing. The streams finish after the last step.
public struct ScriptedTriggerSource: TriggerSource, FillSensor {
    public enum Step: Sendable, Hashable {
        case edge(TriggerKind)
        case wait(Duration)
        case fill(FillObservation)
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
            } else if first == "level" {
                guard words.count == 3, let level = Self.level(words[2]) else {
                    throw SimulationError(.scriptSyntax, "\(file):\(line): expected 'level <compartment> <level>' such as 'level other 85%' or 'level other 0.85'")
                }
                steps.append((.fill(FillObservation(compartment: String(words[1]), kind: .level(level),
                                                    source: "\(file):\(line)")), line))
            } else if first == "button" {
                guard words.count == 2 else {
                    throw SimulationError(.scriptSyntax, "\(file):\(line): expected 'button <compartment>'")
                }
                steps.append((.fill(FillObservation(compartment: String(words[1]), kind: .buttonPressed,
                                                    source: "\(file):\(line)")), line))
            } else {
                throw SimulationError(.scriptSyntax, "\(file):\(line): unknown step '\(words.joined(separator: " "))' (expected open, close, beam, proximity, wait <duration>, level <compartment> <level> or button <compartment>)")
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

    /// The compartments the script's `level` steps measure.
    public var measuredCompartments: Set<String> {
        Set(steps.compactMap { step, _ in
            if case .fill(let observation) = step, case .level = observation.kind { return observation.compartment }
            return nil
        })
    }

    public func events() -> AsyncStream<TriggerEvent> {
        let file = self.file
        let clock = self.clock
        return replay { step, line in
            guard case .edge(let kind) = step else { return nil }
            return TriggerEvent(kind: kind, kernelTimestamp: clock.now(), source: "\(file):\(line)")
        }
    }

    public func observations() -> AsyncStream<FillObservation> {
        replay { step, _ in
            guard case .fill(let observation) = step else { return nil }
            return observation
        }
    }

    /// Runs through the steps, waiting out every `wait`, and yields what `element` makes of the others.
    private func replay<Element: Sendable>(_ element: @escaping @Sendable (Step, Int) -> Element?) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self)
        let steps = self.steps
        let clock = self.clock
        let task = Task {
            for (step, line) in steps {
                if case .wait(let duration) = step {
                    do { try await clock.sleep(duration) } catch { break }
                } else if let value = element(step, line) {
                    continuation.yield(value)
                }
                if Task.isCancelled { break }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// `85%` → 0.85, `0.85` → 0.85; nil outside 0...1.
    static func level(_ word: Substring) -> Double? {
        let value = word.hasSuffix("%") ? Double(word.dropLast()).map { $0 / 100 } : Double(word)
        guard let value, (0...1).contains(value) else { return nil }
        return value
    }
}
