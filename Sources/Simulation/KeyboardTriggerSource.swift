import BinCore
import Foundation
import Synchronization

/// Trigger edges typed on standard input, one command per line:
/// Enter or `o` → lid opened, `c` → closed, `b` → beam broken, `p` → proximity, `q` → end.
///
/// Reading blocks, so it happens on a dedicated thread, never on Swift's cooperative pool. When the
/// consumer goes away the thread stops at the next line (or end of input).
public struct KeyboardTriggerSource: TriggerSource {
    private let readLine: @Sendable () -> String?

    /// - Parameter readLine: the line reader; standard input by default (tests inject lines).
    public init(readLine: @escaping @Sendable () -> String? = { Swift.readLine(strippingNewline: true) }) {
        self.readLine = readLine
    }

    /// The edge a typed line stands for; nil for `q`/`quit`; unknown lines map to `.some(nil)`.
    public static func interpret(_ line: String) -> TriggerKind?? {
        switch line.trimmingCharacters(in: .whitespaces).lowercased() {
        case "", "o", "open": .some(.lidOpened)
        case "c", "close": .some(.lidClosed)
        case "b", "beam": .some(.beamBroken)
        case "p", "proximity": .some(.proximity)
        case "q", "quit": .none
        default: .some(nil)
        }
    }

    public func events() -> AsyncStream<TriggerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: TriggerEvent.self)
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let readLine = self.readLine
        let thread = Thread {
            var lineNumber = 0
            while !stop.isSet, let line = readLine() {
                lineNumber += 1
                switch Self.interpret(line) {
                case .none: continuation.finish(); return
                case .some(.some(let kind)): continuation.yield(TriggerEvent(kind: kind, source: "stdin:\(lineNumber)"))
                case .some(.none):
                    FileHandle.standardError.write(Data("unknown key '\(line)': Enter/o open, c close, b beam, p proximity, q quit\n".utf8))
                }
            }
            continuation.finish()
        }
        thread.name = "smartbin-keyboard"
        thread.start()
        return stream
    }
}

/// A flag one thread sets and another polls.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
