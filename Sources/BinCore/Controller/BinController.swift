import Logging

/// Runs the bin: owns the `BinStateMachine` and performs its actions with the seams and the
/// injected clock, turning each routed item into a `BinEvent` for the `EventSink`.
///
/// Hardware calls and timers run in their own tasks and report back to the actor; results that
/// arrive after a timeout are ignored by ticket. Event recording is never cancelled once started
/// (an event the outbox is writing must not be torn). Status is published on every transition by
/// one publisher task, newest value first, so updates never overtake each other.
///
/// With a `Heartbeat`, a task beats it every `interval` through this actor, only while the
/// state machine is at rest or its armed timer is not overdue (the watchdog's proof of life).
/// The wall clock is checked against the monotonic one at every status and classification; a
/// jump is logged once and counted in the status (`ClockJumpDetector`); timers are unaffected.
public actor BinController {
    /// Who the bin is, as reported in events.
    public struct Identity: Sendable, Hashable {
        public var binID: String
        public var firmware: String
        public init(binID: String, firmware: String) {
            self.binID = binID
            self.firmware = firmware
        }
    }

    private var machine: BinStateMachine
    private let identity: Identity
    private let triggers: any TriggerSource
    private let frames: any FrameSource
    private let classifier: any Classifier
    private let flap: any Flap
    private let sink: any EventSink
    private let clock: ClockReader
    private let wallClock: @Sendable () -> Double
    private let makeEventID: @Sendable () -> String
    private let logger: Logger

    /// Sequence number the next event will carry.
    public private(set) var nextSeq: UInt64
    /// The last transitions (at most 200), oldest first, for diagnostics and tests.
    public private(set) var recentTransitions: [BinStateMachine.Transition] = []

    private var timers: [BinStateMachine.Ticket: Task<Void, Never>] = [:]
    private var operations: [BinStateMachine.Ticket: Task<Void, Never>] = [:]
    private var recordings: Set<BinStateMachine.Ticket> = []
    private var stage = StageClock()
    private var releaseOnFinish = false
    private var finishWaiter: CheckedContinuation<Void, Never>?
    private var restSignal: AsyncStream<Void>.Continuation?
    private var statusOut: AsyncStream<BinStatus>.Continuation?
    private var alertsOut: AsyncStream<BinAlert>.Continuation?
    private var fillOut: AsyncStream<[String: FillRecord]>.Continuation?
    private let fillStore: (any FillStore)?
    private let heartbeat: Heartbeat?
    /// When each armed timer is due, on `clock`.
    private var timerDeadlines: [BinStateMachine.Ticket: Duration] = [:]
    private var lastTransitionAt: Duration = .zero
    /// The last liveness check found the loop stuck (logged once per episode).
    private var stalled = false
    private var clockJumps: ClockJumpDetector

    /// Stage start times of the current cycle, on the controller's clock.
    private struct StageClock {
        var cycleStart: Duration?
        var captureStart: Duration?
        var captureMilliseconds = 0.0
        var classifyStart: Duration?
        var output: ClassifierOutput?
        var classifiedAtWall = 0.0
        var actuateStart: Duration?
    }

    /// Creates a controller in `idle`.
    /// - Parameters:
    ///   - config: timing, timeouts, routing, retry policy and flap angles (validated here).
    ///   - labels: the model's classes and their compartments.
    ///   - clock: the monotonic clock for timers and stage timings (`ContinuousClock()` in the
    ///     firmware, `ManualClock` in tests).
    ///   - firstSeq: the `seq` of the first event, persisted by the outbox across restarts.
    ///   - countsPerBin: counts carried over from a previous run.
    ///   - fillStore: where fill records are loaded from (here) and saved to on every change
    ///     (nil: fill starts empty and is not kept).
    ///   - heartbeat: beaten while the loop makes progress (nil: no liveness tracking).
    ///   - clockJumpThreshold: a change of wall − monotonic time beyond this is a clock jump.
    ///   - wallClock: seconds since the Unix epoch (UTC), for event timestamps.
    ///   - makeEventID: event id generator; random v4 UUIDs by default.
    /// - Throws: `BinCoreError.invalidConfig` when the configuration is inconsistent.
    public init(config: BinConfig, labels: LabelMap, identity: Identity,
                triggers: any TriggerSource, frames: any FrameSource, classifier: any Classifier,
                flap: any Flap, sink: any EventSink, clock: any Clock<Duration>,
                firstSeq: UInt64 = 1, countsPerBin: [String: Int] = [:],
                fillStore: (any FillStore)? = nil, heartbeat: Heartbeat? = nil,
                clockJumpThreshold: Duration = .seconds(2),
                wallClock: @escaping @Sendable () -> Double,
                makeEventID: @escaping @Sendable () -> String = { UUIDv4.random() },
                logger: Logger = Logger(label: "smartbin.controller")) throws(BinCoreError) {
        let binMap = try BinMap(labels: labels, config: config)
        var restored: [String: FillRecord] = [:]
        if let fillStore {
            do { restored = try fillStore.load() } catch {
                logger.error("fill levels not restored, starting from empty: \(error)")
            }
        }
        self.machine = BinStateMachine(config: config, binMap: binMap, countsPerBin: countsPerBin, fill: restored)
        self.fillStore = fillStore
        self.heartbeat = heartbeat
        self.clockJumps = ClockJumpDetector(threshold: clockJumpThreshold)
        self.identity = identity
        self.triggers = triggers
        self.frames = frames
        self.classifier = classifier
        self.flap = flap
        self.sink = sink
        self.clock = ClockReader(clock)
        self.wallClock = wallClock
        self.makeEventID = makeEventID
        self.logger = logger
        self.nextSeq = firstSeq
    }

    // MARK: Running

    /// Runs until the task is cancelled (or, with `stopWhenTriggersEnd`, until the trigger stream
    /// has finished and the bin is at rest), then shuts down: flap home, servo released, final
    /// status published. Call once.
    public func run(stopWhenTriggersEnd: Bool = false) async {
        let (statuses, statusContinuation) = AsyncStream.makeStream(of: BinStatus.self,
                                                                    bufferingPolicy: .bufferingNewest(1))
        statusOut = statusContinuation
        let sink = self.sink
        let publisher = Task { for await status in statuses { await sink.publishStatus(status) } }
        let (alerts, alertContinuation) = AsyncStream.makeStream(of: BinAlert.self)
        alertsOut = alertContinuation
        let alertPublisher = Task { for await alert in alerts { await sink.publishAlert(alert) } }
        let (fills, fillContinuation) = AsyncStream.makeStream(of: [String: FillRecord].self,
                                                                bufferingPolicy: .bufferingNewest(1))
        fillOut = fillContinuation
        let store = fillStore
        let logger = self.logger
        let fillWriter = Task {
            for await records in fills {
                do { try await store?.save(records) } catch { logger.error("fill levels not saved: \(error)") }
            }
        }

        logger.info("bin \(identity.binID) starting, firmware \(identity.firmware), model \(classifier.model.name)")
        let beats = startHeartbeat()
        perform([.publishStatus])
        for await event in triggers.events() {
            perform(machine.trigger(event, at: clock.now()))
        }
        if !Task.isCancelled {
            if stopWhenTriggersEnd {
                logger.info("trigger source finished; stopping once the bin is at rest")
                await waitUntilAtRest()
            } else {
                logger.info("trigger source finished; running until cancelled")
                let (forever, keep) = AsyncStream.makeStream(of: Void.self)
                for await _ in forever {}
                keep.finish()
            }
        }
        await shutdown(cause: Task.isCancelled ? "cancelled" : "trigger source finished")
        beats?.cancel()
        await heartbeat?.ended()
        statusContinuation.finish()
        alertContinuation.finish()
        fillContinuation.finish()
        await publisher.value
        await alertPublisher.value
        await fillWriter.value
        statusOut = nil
        alertsOut = nil
        fillOut = nil
    }

    /// Records that `compartment` (nil: every compartment) was emptied: counts reset, alerts
    /// re-armed, an `emptied` alert per compartment.
    /// - Returns: the compartments emptied.
    /// - Throws: `BinCoreError.unknownCompartment` for a compartment the bin does not have.
    @discardableResult
    public func emptied(_ compartment: String?, source: FillSource) throws(BinCoreError) -> [String] {
        let known = machine.fillRecords.keys.sorted()
        if let compartment, !known.contains(compartment) {
            throw BinCoreError(.unknownCompartment, "no compartment '\(compartment)' (have: \(known.joined(separator: ", ")))")
        }
        perform(machine.emptied(compartment, source: source))
        return compartment.map { [$0] } ?? known
    }

    /// A fill sensor measured `compartment`'s level (0...1).
    public func fillMeasured(_ compartment: String, level: Double) {
        perform(machine.fillMeasured(compartment, level: level))
    }

    /// Takes one report of the fill hardware: a measured level goes into the fill tracking
    /// (source `sensor`; a sharp drop counts as an emptying), a button press records the emptying
    /// of its compartment exactly as `…/cmd/emptied` does, with source `button`. A report for a
    /// compartment the bin does not have is logged and dropped.
    public func observe(_ observation: FillObservation) {
        switch observation.kind {
        case .level(let level):
            logger.debug("fill reading", metadata: ["compartment": "\(observation.compartment)",
                                                    "level": "\(level)", "sensor": "\(observation.source)"])
            fillMeasured(observation.compartment, level: level)
        case .buttonPressed:
            do {
                try emptied(observation.compartment, source: .button)
            } catch {
                logger.warning("emptied button ignored", metadata: ["line": "\(observation.source)", "error": "\(error)"])
            }
        }
    }

    /// Locks the flap home and ignores triggers (counted) until `exitMaintenance`.
    public func enterMaintenance(cause: String) {
        perform(machine.enterMaintenance(cause: cause))
    }

    /// Returns from maintenance to idle; also clears a fault whose retries are used up.
    public func exitMaintenance(cause: String) {
        perform(machine.exitMaintenance(cause: cause))
    }

    /// The status document as it would be published now.
    public func status() -> BinStatus { makeStatus() }

    /// The state machine's counters and state.
    public var snapshot: BinStateMachine.Snapshot { machine.snapshot }

    // MARK: Liveness

    /// Starts the task that beats `heartbeat` every `interval` while `makingProgress()`.
    private func startHeartbeat() -> Task<Void, Never>? {
        guard let heartbeat else { return nil }
        let sleep = clock.sleep
        return Task.detached {
            await heartbeat.beat()
            while true {
                do { try await sleep(heartbeat.interval) } catch { return }
                if await self.makingProgress() { await heartbeat.beat() }
            }
        }
    }

    /// Whether the loop is making progress: the machine is at rest (waiting for a trigger or an
    /// operator), or the timer its current state waits on is not overdue by more than the
    /// heartbeat's `staleAfter`; a state with no timer armed has `staleAfter` since it was
    /// entered. Every waiting state has a timeout, so a legitimate wait always passes.
    private func makingProgress() -> Bool {
        let now = clock.now()
        let grace = heartbeat?.staleAfter ?? .seconds(10)
        let snapshot = machine.snapshot
        var overdue: Duration?
        if !snapshot.atRest {
            let due = timerDeadlines.values.max() ?? lastTransitionAt
            if now > due + grace { overdue = now - due }
        }
        if let overdue, !stalled {
            logger.error("no progress: \(snapshot.state.rawValue) is \(overdue.shortDescription) past its deadline; the watchdog is no longer fed")
        } else if overdue == nil, stalled {
            logger.notice("progress again in \(snapshot.state.rawValue); the watchdog is fed again")
        }
        stalled = overdue != nil
        return overdue == nil
    }

    /// Compares the wall clock with the monotonic one; logs a jump once and counts it.
    private func checkWallClock(_ wall: Double) {
        guard let jump = clockJumps.check(wall: wall, monotonic: clock.now()) else { return }
        let size = (abs(jump) * 10).rounded() / 10
        logger.warning("wall clock jumped \(jump > 0 ? "forward" : "backward") by \(size) s (jump \(clockJumps.jumps)); timers run on the monotonic clock and are unaffected, event and state timestamps follow the wall clock")
    }

    // MARK: Shutdown and rest

    private func shutdown(cause: String) async {
        guard machine.stateName != .stopped else { return }
        perform(machine.beginShutdown(cause: cause))
        guard machine.stateName != .stopped else { return }
        await withCheckedContinuation { finishWaiter = $0 }
    }

    private func waitUntilAtRest() async {
        let (rest, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        restSignal = signal
        if machine.snapshot.atRest { signal.yield() }
        for await _ in rest { break }
        restSignal = nil
    }

    // MARK: Completions (called by the tasks this actor starts)

    private func timerFired(_ ticket: BinStateMachine.Ticket) {
        timerDeadlines[ticket] = nil
        guard timers.removeValue(forKey: ticket) != nil else { return }
        perform(machine.timerFired(ticket))
    }

    private func captured(_ result: Result<Frame, any Error>, _ ticket: BinStateMachine.Ticket) {
        operations[ticket] = nil
        switch result {
        case .success(let frame):
            if let start = stage.captureStart { stage.captureMilliseconds = (clock.now() - start).milliseconds }
            perform(machine.frameCaptured(frame, ticket: ticket))
        case .failure(let error):
            perform(machine.captureFailed(String(describing: error), ticket: ticket))
        }
    }

    private func classified(_ result: Result<ClassifierOutput, any Error>, _ ticket: BinStateMachine.Ticket) {
        operations[ticket] = nil
        switch result {
        case .success(let output):
            stage.output = output
            stage.classifiedAtWall = wallClock()
            checkWallClock(stage.classifiedAtWall)
            perform(machine.classified(output.classification, ticket: ticket))
        case .failure(let error):
            perform(machine.classifyFailed(String(describing: error), ticket: ticket))
        }
    }

    private func flapDone(_ error: (any Error)?, _ ticket: BinStateMachine.Ticket) {
        operations[ticket] = nil
        if let error {
            perform(machine.flapFailed(String(describing: error), ticket: ticket))
        } else {
            perform(machine.flapMoved(ticket: ticket))
        }
    }

    private func recordDone(_ error: (any Error)?, _ ticket: BinStateMachine.Ticket) {
        operations[ticket] = nil
        recordings.remove(ticket)
        if let error {
            logger.error("event not recorded: \(error)")
            perform(machine.recordFailed(String(describing: error), ticket: ticket))
        } else {
            perform(machine.recorded(ticket: ticket))
        }
    }

    private func finish() {
        finishWaiter?.resume()
        finishWaiter = nil
    }

    // MARK: Performing actions

    private func perform(_ actions: [BinStateMachine.Action]) {
        for action in actions { perform(action) }
        if machine.snapshot.atRest { restSignal?.yield() }
    }

    private func perform(_ action: BinStateMachine.Action) {
        switch action {
        case .log(let transition):
            lastTransitionAt = clock.now()
            logger.info("\(transition)")
            recentTransitions.append(transition)
            if recentTransitions.count > 200 { recentTransitions.removeFirst(recentTransitions.count - 200) }
        case .note(let text):
            logger.info("\(text)")
        case .startTimer(let purpose, let delay, let ticket):
            if purpose == .settle { stage = StageClock(cycleStart: clock.now()) }
            timerDeadlines[ticket] = clock.now() + delay
            let sleep = clock.sleep
            timers[ticket] = Task.detached {
                do { try await sleep(delay) } catch { return }
                await self.timerFired(ticket)
            }
        case .cancelTimer(let ticket):
            timerDeadlines[ticket] = nil
            timers.removeValue(forKey: ticket)?.cancel()
        case .capture(let ticket):
            stage.captureStart = clock.now()
            let frames = self.frames
            operations[ticket] = Task.detached {
                let result: Result<Frame, any Error>
                do { result = .success(try await frames.capture()) } catch { result = .failure(error) }
                await self.captured(result, ticket)
            }
        case .classify(let frame, let ticket):
            stage.classifyStart = clock.now()
            let classifier = self.classifier
            operations[ticket] = Task.detached {
                let result: Result<ClassifierOutput, any Error>
                do { result = .success(try await classifier.classify(frame)) } catch { result = .failure(error) }
                await self.classified(result, ticket)
            }
        case .moveFlap(let degrees, let ticket):
            if machine.stateName == .routing { stage.actuateStart = clock.now() }
            let flap = self.flap
            operations[ticket] = Task.detached {
                var failure: (any Error)?
                do { try await flap.move(toDegrees: degrees) } catch { failure = error }
                await self.flapDone(failure, ticket)
            }
        case .record(let report, let ticket):
            let event = makeEvent(report)
            logger.info("event seq \(event.seq): \(event.classification.label) → \(event.route.bin)\(event.route.fallback ? " (fallback)" : "") at \(event.route.angleDegrees)°")
            let sink = self.sink
            recordings.insert(ticket)
            operations[ticket] = Task.detached {
                var failure: (any Error)?
                do { try await sink.record(event) } catch { failure = error }
                await self.recordDone(failure, ticket)
            }
        case .cancelOperation(let ticket):
            // A recording is never torn down half-way; its late completion is simply stale.
            if !recordings.contains(ticket) { operations.removeValue(forKey: ticket)?.cancel() }
        case .releaseFlap:
            releaseOnFinish = true
        case .publishStatus:
            statusOut?.yield(makeStatus())
        case .alert(let alert):
            let config = machine.config.fill
            let published = BinAlert(id: makeEventID(), binID: identity.binID, timestamp: wallClock(),
                                     compartment: alert.compartment, kind: alert.kind, level: alert.level,
                                     source: alert.source, items: alert.items, capacity: alert.capacity,
                                     threshold: config.threshold(alert.kind), previousLevel: alert.previousLevel)
            let percent = Int((alert.level * 100).rounded())
            logger.notice("fill alert: \(alert.compartment) \(alert.kind.rawValue) at \(percent)% (\(alert.source.rawValue), \(alert.items) item(s))")
            alertsOut?.yield(published)
        case .persistFill(let records):
            fillOut?.yield(records)
        case .finished:
            let flap = self.flap
            let release = releaseOnFinish
            for task in timers.values { task.cancel() }
            timers = [:]
            timerDeadlines = [:]
            Task.detached {
                if release { await flap.release() }
                await self.finish()
            }
        }
    }

    private func makeEvent(_ report: BinStateMachine.CycleReport) -> BinEvent {
        let now = clock.now()
        var timings = StageTimings()
        timings.capture = stage.captureMilliseconds
        timings.preprocess = stage.output?.preprocessMilliseconds ?? 0
        timings.inference = stage.output?.inferenceMilliseconds ?? 0
        if let start = stage.actuateStart { timings.actuate = (now - start).milliseconds }
        if let start = stage.cycleStart { timings.total = (now - start).milliseconds }
        let seq = nextSeq
        nextSeq += 1
        return BinEvent(id: makeEventID(), seq: seq, binID: identity.binID,
                        timestamp: stage.classifiedAtWall, classification: report.classification,
                        route: report.route, model: classifier.model, timings: timings,
                        firmware: identity.firmware)
    }

    private func makeStatus() -> BinStatus {
        checkWallClock(wallClock())
        let snapshot = machine.snapshot
        return BinStatus(state: snapshot.state.rawValue, faultReason: snapshot.faultReason,
                         countsPerBin: snapshot.countsPerBin, model: classifier.model,
                         uptimeSeconds: clock.now().milliseconds / 1000,
                         triggersDuringCycle: snapshot.triggersDuringCycle,
                         fill: snapshot.fill, fullPolicy: machine.config.fill.policy.rawValue,
                         refusal: snapshot.refusal, clockJumps: clockJumps.jumps,
                         lastClockJumpSeconds: clockJumps.lastJumpSeconds)
    }
}
