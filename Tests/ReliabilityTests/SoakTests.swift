import BinCore
import Foundation
import BinTestKit
import Synchronization
import Telemetry
import Testing

/// 100,000 full cycles of the real `BinController` (trigger → capture → classify → flap →
/// record → flap home) on a manual clock with small stand-ins for the hardware and the model,
/// sampling this process's RSS every 10,000 cycles: after warm-up it must not grow by more than
/// 1 MiB. `SMARTBIN_SOAK_CYCLES` changes the count.
///
/// The child runs with `SWT_SWIFT_ERROR_BACKTRACING_ENABLED=0`. Swift Testing hooks
/// `swift_willThrow` in the test process and, for every error thrown, keeps the error's
/// backtrace in a table keyed by the error box's address (weakly referenced), pruning dead
/// entries only when a test ends. Each cycle cancels four timers (the capture, classify and two
/// actuate timeouts) whose sleeps throw `CancellationError`, so during the one long test the
/// table grew with every new box address: +5.4 to +7.2 MiB per 100k cycles, linear, none of it
/// the firmware's (which has no such hook). With the hook off RSS stays flat: +64 to +160 KiB
/// after warm-up over 100k cycles, +8 KiB from 100k to 1M. The bound is 1 MiB: one empty object
/// leaked per cycle (a 32-byte malloc chunk) measured +1.6 MiB, not the 2.7 MiB it allocates,
/// because the first leaked chunks fill the free space the warm-up left in the heap.
/// `MALLOC_ARENA_MAX=2` is the firmware's systemd setting, so the child measures the allocator
/// as deployed.
///
/// RSS is per process and the other suites run in parallel in this one, so the test re-runs
/// itself alone in a child process of the test bundle (`SMARTBIN_SOAK_CHILD=1`) and checks
/// the child's verdict.
@Suite(.serialized, .timeLimit(.minutes(20)), .enabled(if: Reliability.heavyTestsEnabled)) struct SoakTests {
    /// Classifies by the frame's mean brightness into the six TrashNet classes.
    struct MeanClassifier: Classifier {
        let model = ModelInfo(name: "mean-stand-in", sha256: String(repeating: "a", count: 64), precision: "fp32")
        func classify(_ frame: Frame) async throws -> ClassifierOutput {
            var sum = 0
            for value in frame.rgb { sum += Int(value) }
            let index = (sum / max(1, frame.rgb.count)) % TestBins.trashnetLabels.count
            let label = TestBins.trashnetLabels[index]
            let confidence = index.isMultiple(of: 2) ? 0.9 : 0.4  // some go to the fallback bin
            return ClassifierOutput(classification: Classification(label: label, classIndex: index, confidence: confidence,
                                                                   top: [LabelScore(label: label, score: confidence)]),
                                    preprocessMilliseconds: 0, inferenceMilliseconds: 0)
        }
    }

    /// A 16×16 frame whose brightness walks through the classes.
    final class Frames: FrameSource {
        let counter = Atomic<Int>(0)
        func capture() async throws -> Frame {
            let n = counter.add(1, ordering: .relaxed).newValue
            return Frame(width: 16, height: 16, rgb: [UInt8](repeating: UInt8(n % 6), count: 16 * 16 * 3), origin: "soak")
        }
    }

    /// Counts moves; keeps nothing else.
    final class Flap: BinCore.Flap {
        let moves = Atomic<Int>(0)
        func move(toDegrees degrees: Double) async throws { moves.add(1, ordering: .relaxed) }
        func release() async {}
    }

    /// Encodes every event and status as the publisher would, then drops them.
    final class Sink: EventSink {
        let recorded = Atomic<Int>(0)
        let bytes = Atomic<Int>(0)
        func record(_ event: BinEvent) async throws {
            bytes.add(EventEncoding.encode(event).count, ordering: .relaxed)
            recorded.add(1, ordering: .relaxed)
        }
        func publishStatus(_ status: BinStatus) async {
            bytes.add(EventEncoding.encode(status, timestamp: 0).count, ordering: .relaxed)
        }
    }

    @Test func hundredThousandCyclesKeepMemoryFlat() async throws {
        guard ProcessInfo.processInfo.environment["SMARTBIN_SOAK_CHILD"] != nil else {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            child.arguments = ["--testing-library", "swift-testing", "--filter", "SoakTests"]
            child.environment = ProcessInfo.processInfo.environment.merging(["SMARTBIN_SOAK_CHILD": "1", "MALLOC_ARENA_MAX": "2",
                                                                                    "SWT_SWIFT_ERROR_BACKTRACING_ENABLED": "0"]) { _, new in new }
            let output = Reliability.packageRoot + "/.build/soak-child-\(getpid()).log"
            FileManager.default.createFile(atPath: output, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: output) }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            child.standardOutput = handle
            child.standardError = handle
            try child.run()
            while child.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix("soak:") { print(line) }
            #expect(child.terminationStatus == 0 && text.contains("soak: verdict ok"),
                    "soak child failed (status \(child.terminationStatus)):\n\(text.suffix(3000))")
            return
        }
        let cycles = Reliability.environmentInt("SMARTBIN_SOAK_CYCLES", default: 100_000)
        let sampleEvery = max(1, cycles / 10)
        var config = TestBins.config
        config.timing = .init(debounce: .zero, settle: .zero, dwell: .zero)
        let clock = ManualClock()
        let triggers = FakeTriggerSource()
        let flap = Flap()
        let sink = Sink()
        let controller = try BinController(
            config: config, labels: TestBins.trashnetMap, identity: .init(binID: "soak", firmware: "test"),
            triggers: triggers, frames: Frames(), classifier: MeanClassifier(), flap: flap, sink: sink,
            clock: clock, wallClock: { 1_700_000_000 }, logger: LogCapture().logger(level: .critical))
        let run = Task { await controller.run(stopWhenTriggersEnd: true) }

        var samples: [(cycle: Int, kib: Int)] = [(0, Reliability.residentKiB())]
        let started = ContinuousClock.now
        for cycle in 1...cycles {
            clock.advance(by: .seconds(1))
            triggers.send(.lidOpened, source: "soak")
            while true {
                let snapshot = await controller.snapshot
                if snapshot.cyclesStarted == cycle && snapshot.atRest { break }
                await Task.yield()
            }
            if cycle % sampleEvery == 0 { samples.append((cycle, Reliability.residentKiB())) }
        }
        triggers.finish()
        await run.value
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        let snapshot = await controller.snapshot
        let warm = samples[1].kib
        let peakGrowth = samples.dropFirst().map { $0.kib - warm }.max() ?? 0
        print("soak: \(cycles) cycles in \(Int(seconds)) s; events \(sink.recorded.load(ordering: .relaxed)), flap moves \(flap.moves.load(ordering: .relaxed)), faults \(snapshot.consecutiveFaults), unrecorded \(snapshot.unrecordedEvents)")
        print("soak: RSS KiB by cycle: " + samples.map { "\($0.cycle): \($0.kib)" }.joined(separator: ", "))
        print("soak: growth after warm-up (cycle \(samples[1].cycle)): \(peakGrowth) KiB (bound 1024 KiB)")
        #expect(sink.recorded.load(ordering: .relaxed) == cycles)
        #expect(flap.moves.load(ordering: .relaxed) == 2 * cycles + 1)  // out and home per cycle, home at shutdown
        #expect(snapshot.unrecordedEvents == 0)
        #expect(snapshot.countsPerBin.values.reduce(0, +) == cycles)
        #expect(peakGrowth <= 1024, "RSS grew \(peakGrowth) KiB after warm-up: \(samples)")
        if peakGrowth <= 1024 && sink.recorded.load(ordering: .relaxed) == cycles && snapshot.unrecordedEvents == 0 {
            print("soak: verdict ok")
        }
    }
}
