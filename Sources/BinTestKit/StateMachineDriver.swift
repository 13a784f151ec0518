import BinCore

/// Drives a `BinStateMachine` synchronously against the fakes and a `ManualClock`: every action is
/// performed at once (hardware answers from the fakes' queues), timers fire when the test advances
/// time. Deterministic, so tests can check each step exactly.
public final class StateMachineDriver {
    public private(set) var machine: BinStateMachine
    public let clock: ManualClock
    public let frames: FakeFrameSource
    public let classifier: ScriptedClassifier
    public let flap: RecordingFlap
    public let sink: RecordingEventSink

    /// Every transition, in order.
    public private(set) var transitions: [BinStateMachine.Transition] = []
    /// Every note, in order.
    public private(set) var notes: [String] = []
    /// Every report the machine asked to record (whether or not the record succeeded).
    public private(set) var reports: [BinStateMachine.CycleReport] = []
    /// Timers started, with their purpose and length.
    public private(set) var timersStarted: [(BinStateMachine.TimerPurpose, Duration)] = []
    public private(set) var statusPublications = 0
    /// Every fill alert, in order.
    public private(set) var alerts: [FillAlert] = []
    /// The fill records last handed out to persist (nil: never).
    public private(set) var persistedFill: [String: FillRecord]?
    public private(set) var finished = false

    private struct PendingTimer {
        var deadline: Duration
        var ticket: BinStateMachine.Ticket
    }
    private var timers: [PendingTimer] = []
    private var inbox: [(inout BinStateMachine) -> [BinStateMachine.Action]] = []

    public init(config: BinConfig = TestBins.config, labels: LabelMap = TestBins.trashnetMap,
                clock: ManualClock = ManualClock(), fill: [String: FillRecord] = [:]) throws(BinCoreError) {
        let binMap = try BinMap(labels: labels, config: config)
        machine = BinStateMachine(config: config, binMap: binMap, fill: fill)
        self.clock = clock
        frames = FakeFrameSource()
        classifier = ScriptedClassifier(labels: labels.labels)
        flap = RecordingFlap()
        sink = RecordingEventSink()
    }

    public var state: BinStateMachine.StateName { machine.stateName }
    public var snapshot: BinStateMachine.Snapshot { machine.snapshot }
    /// Time since the driver started.
    public var now: Duration { clock.now.offset }

    // MARK: Inputs

    public func trigger(_ kind: TriggerKind) {
        let event = TriggerEvent(kind: kind, source: "test")
        let now = self.now
        run { $0.trigger(event, at: now) }
    }

    public func enterMaintenance(_ cause: String = "test") { run { $0.enterMaintenance(cause: cause) } }
    public func exitMaintenance(_ cause: String = "test") { run { $0.exitMaintenance(cause: cause) } }
    public func shutdown(_ cause: String = "test") { run { $0.beginShutdown(cause: cause) } }
    /// `compartment` (nil: all) was emptied.
    public func emptied(_ compartment: String?, source: FillSource = .command) {
        run { $0.emptied(compartment, source: source) }
    }
    /// A fill sensor reading.
    public func measured(_ compartment: String, level: Double) { run { $0.fillMeasured(compartment, level: level) } }

    /// Advances time, firing due timers in deadline order (each at its own instant).
    public func advance(by duration: Duration) {
        let target = now + duration
        while let next = timers.min(by: { $0.deadline < $1.deadline }), next.deadline <= target {
            timers.removeAll { $0.ticket == next.ticket }
            clock.advance(to: .init(offset: next.deadline))
            run { $0.timerFired(next.ticket) }
        }
        clock.advance(to: .init(offset: target))
    }

    /// The purposes of the timers now armed.
    public var armedTimers: Int { timers.count }

    // MARK: Performing

    private func run(_ input: @escaping (inout BinStateMachine) -> [BinStateMachine.Action]) {
        inbox.append(input)
        while !inbox.isEmpty {
            let next = inbox.removeFirst()
            for action in next(&machine) { perform(action) }
        }
    }

    private func perform(_ action: BinStateMachine.Action) {
        switch action {
        case .log(let transition): transitions.append(transition)
        case .note(let text): notes.append(text)
        case .startTimer(let purpose, let delay, let ticket):
            timersStarted.append((purpose, delay))
            timers.append(PendingTimer(deadline: now + delay, ticket: ticket))
        case .cancelTimer(let ticket):
            timers.removeAll { $0.ticket == ticket }
        case .capture(let ticket):
            switch frames.nextResponse() {
            case .frame(let frame): inbox.append { $0.frameCaptured(frame, ticket: ticket) }
            case .fail(let message): inbox.append { $0.captureFailed(message, ticket: ticket) }
            case .hang: break
            }
        case .classify(let frame, let ticket):
            switch classifier.outcome(for: frame) {
            case .result(let label, let confidence):
                let classification = classifier.classification(label: label, confidence: confidence)
                inbox.append { $0.classified(classification, ticket: ticket) }
            case .fail(let message): inbox.append { $0.classifyFailed(message, ticket: ticket) }
            case .hang: break
            }
        case .moveFlap(let degrees, let ticket):
            switch flap.nextResponse(forMoveTo: degrees) {
            case .arrive: inbox.append { $0.flapMoved(ticket: ticket) }
            case .fail(let message): inbox.append { $0.flapFailed(message, ticket: ticket) }
            case .hang: break
            }
        case .record(let report, let ticket):
            reports.append(report)
            switch sink.nextResponse() {
            case .store: inbox.append { $0.recorded(ticket: ticket) }
            case .fail(let message): inbox.append { $0.recordFailed(message, ticket: ticket) }
            case .hang: break
            }
        case .cancelOperation: break
        case .releaseFlap: flap.noteRelease()
        case .publishStatus: statusPublications += 1
        case .finished: finished = true
        case .alert(let alert): alerts.append(alert)
        case .persistFill(let records): persistedFill = records
        }
    }
}
