/// The bin's controller logic as a value: one item at a time from trigger to flap back home.
///
/// ```
/// idle ─trigger─▶ triggered ─settle─▶ capturing ─frame─▶ classifying ─result─▶ routing
///   ▲                                                                  (flap to angle, record, dwell)
///   └──────────────── returning (flap home) ◀──────────────────────────────────┘
/// any hardware failure or timeout ─▶ fault ─back-off─▶ returning (homing) ─▶ idle
/// enterMaintenance ─▶ maintenance (flap home, triggers ignored) ─exitMaintenance─▶ idle
/// beginShutdown ─▶ stopping (flap home) ─▶ stopped
/// ```
///
/// The machine never reads a clock and does no I/O: each `mutating` event method returns the
/// `Action`s its owner (`BinController`, or the test driver) performs, in order. Every state that
/// waits on hardware has a timer; every transition emits one `.log(Transition)` with its cause and a
/// `.publishStatus`.
///
/// Rules worth knowing:
/// - **Debounce**: an edge less than `timing.debounce` after the previous *accepted* edge (of any
///   kind) is a bounce: counted in `bouncesIgnored`, otherwise ignored.
/// - **Triggers during a cycle**: a start-trigger while a cycle runs (triggered … returning) is
///   counted in `triggersDuringCycle` and schedules exactly one more cycle, which starts (with the
///   settle delay) once the flap is home; further triggers in the same cycle are only counted. So
///   an item dropped mid-cycle is classified, and no item is routed twice.
/// - **Faults**: each fault increments `consecutiveFaults`; while it is ≤ `retry.maxAttempts` a
///   retry is scheduled after `retry.backoff(forAttempt:)`, which homes the flap and returns to
///   idle. One more fault stays in `fault` until `exitMaintenance` clears it. A completed cycle
///   resets the count. Triggers in fault are counted in `triggersIgnored`.
/// - **Fill**: each item routed counts towards its compartment's fill (`FillTracker`); reaching
///   `fill.nearly_full` or `fill.full` emits one `.alert` per crossing, and every change of the
///   persistent fill emits `.persistFill`. An item whose compartment is full follows
///   `fill.policy`: routed anyway (`keep_routing`), routed to the fallback compartment flagged
///   `fallback` (`fallback`; if that one is full too it goes there anyway), or refused
///   (`refuse`: the flap stays home, no event, the cycle ends in idle and the status names the
///   refusal until that compartment is emptied). `emptied` and `fillMeasured` work in any state.
/// - **Stale results**: completions and timers carry a `Ticket`; one that is no longer active is
///   ignored with a note. A matching ticket in a state that cannot have issued it is a bug:
///   `preconditionFailure`.
public struct BinStateMachine: Sendable {
    private enum State {
        case idle
        case triggered(Cycle)
        case capturing(Cycle)
        case classifying(Cycle, frameOrigin: String)
        case routing(Cycle, CycleReport, RoutingPhase)
        /// Homing the flap: after a cycle (`cycle` set) or to recover from a fault (`nil`).
        case returning(Cycle?)
        case fault(reason: String, retrying: Bool)
        case maintenance(flapHome: Bool)
        case stopping
        case stopped
    }

    private enum RoutingPhase {
        /// The flap is on its way to the compartment angle.
        case moving
        /// The flap is there; the dwell timer runs and the event is being recorded.
        case dwelling(recorded: Bool)
        /// Dwell is over but the event is not yet durable.
        case awaitingRecord
    }

    private struct Cycle {
        var number: Int
        var trigger: TriggerEvent
    }

    public let config: BinConfig
    public let binMap: BinMap

    private var state: State = .idle
    private var lastTicket: UInt64 = 0
    private var activeTimer: Ticket?
    private var activeOperation: Ticket?
    private var lastAcceptedEdge: Duration?
    private var pendingTrigger: TriggerEvent?
    private var cyclesStarted = 0
    private var consecutiveFaults = 0
    private var countsPerBin: [String: Int] = [:]
    private var triggersDuringCycle = 0
    private var triggersIgnored = 0
    private var bouncesIgnored = 0
    private var unrecordedEvents = 0
    private var fill: FillTracker
    private var lastRefusal: (compartment: String, reason: String)?

    /// Creates a machine in `idle`.
    /// - Parameters:
    ///   - countsPerBin: counts carried over from a previous run (default none).
    ///   - fill: fill records carried over from a previous run (default: every compartment empty).
    public init(config: BinConfig, binMap: BinMap, countsPerBin: [String: Int] = [:],
                fill: [String: FillRecord] = [:]) {
        self.config = config
        self.binMap = binMap
        self.countsPerBin = countsPerBin
        self.fill = FillTracker(config: config.fill, compartments: config.flap.angles.keys, restored: fill)
    }

    /// The fill records to persist (items since emptied, alerts already sent).
    public var fillRecords: [String: FillRecord] { fill.persistent }

    // MARK: Observation

    public var stateName: StateName {
        switch state {
        case .idle: .idle
        case .triggered: .triggered
        case .capturing: .capturing
        case .classifying: .classifying
        case .routing: .routing
        case .returning: .returning
        case .fault: .fault
        case .maintenance: .maintenance
        case .stopping: .stopping
        case .stopped: .stopped
        }
    }

    public var snapshot: Snapshot {
        var faultReason: String?
        var retrying = false
        var atRest = false
        switch state {
        case .idle: atRest = pendingTrigger == nil
        case .fault(let reason, let retry):
            faultReason = reason
            retrying = retry
            atRest = !retry
        case .maintenance(let home): atRest = home
        case .stopped: atRest = true
        default: break
        }
        return Snapshot(state: stateName, faultReason: faultReason, retrying: retrying,
                        consecutiveFaults: consecutiveFaults, countsPerBin: countsPerBin,
                        triggersDuringCycle: triggersDuringCycle, triggersIgnored: triggersIgnored,
                        bouncesIgnored: bouncesIgnored, unrecordedEvents: unrecordedEvents,
                        cyclesStarted: cyclesStarted, cyclePending: pendingTrigger != nil,
                        atRest: atRest, fill: fill.view, refusal: lastRefusal?.reason)
    }

    // MARK: Events from sensors and operators

    /// A trigger edge arrived.
    /// - Parameter now: the owner's monotonic clock reading (used only for debouncing).
    public mutating func trigger(_ event: TriggerEvent, at now: Duration) -> [Action] {
        let what = event.source.isEmpty ? event.kind.rawValue : "\(event.kind.rawValue) (\(event.source))"
        if let last = lastAcceptedEdge, now - last < config.timing.debounce {
            bouncesIgnored += 1
            return [.note("bounce ignored: \(what) \((now - last).shortDescription) after the last edge")]
        }
        lastAcceptedEdge = now
        guard config.triggers.start.contains(event.kind) else {
            return [.note("\(what) noted; it does not start a cycle")]
        }
        switch state {
        case .idle:
            return startCycle(event, cause: "trigger \(what)")
        case .triggered, .capturing, .classifying, .routing, .returning(.some):
            triggersDuringCycle += 1
            let note: String
            if pendingTrigger == nil {
                pendingTrigger = event
                note = "trigger \(what) during \(stateName.rawValue): counted, one more cycle after this one"
            } else {
                note = "trigger \(what) during \(stateName.rawValue): counted, a next cycle is already scheduled"
            }
            return [.note(note), .publishStatus]
        case .returning(.none), .fault, .maintenance, .stopping, .stopped:
            triggersIgnored += 1
            return [.note("trigger \(what) ignored in \(stateName.rawValue)"), .publishStatus]
        }
    }

    /// Locks the flap home and ignores triggers until `exitMaintenance`. Abandons any cycle.
    public mutating func enterMaintenance(cause: String) -> [Action] {
        switch state {
        case .maintenance, .stopping, .stopped:
            return [.note("maintenance requested (\(cause)) in \(stateName.rawValue): nothing to do")]
        default:
            break
        }
        var actions = abandonWork()
        actions += transition(to: .maintenance(flapHome: false), cause: cause)
        actions += moveFlapHome()
        return actions
    }

    /// Leaves maintenance for idle; also clears a fault that used up its retries.
    public mutating func exitMaintenance(cause: String) -> [Action] {
        guard case .maintenance = state else {
            return [.note("leave maintenance requested (\(cause)) in \(stateName.rawValue): nothing to do")]
        }
        var actions = abandonWork()
        consecutiveFaults = 0
        actions += transition(to: .idle, cause: cause)
        return actions
    }

    /// Starts an orderly stop: abandon the cycle, flap home, then `.releaseFlap` and `.finished`.
    public mutating func beginShutdown(cause: String) -> [Action] {
        switch state {
        case .stopping, .stopped:
            return [.note("shutdown requested (\(cause)) in \(stateName.rawValue): already stopping")]
        default:
            break
        }
        var actions = abandonWork()
        actions += transition(to: .stopping, cause: cause)
        actions += moveFlapHome()
        return actions
    }

    // MARK: Fill

    /// A compartment was emptied (or every one, with `compartment` nil): counts reset, thresholds
    /// re-armed, one `emptied` alert per compartment. Unknown names are noted and ignored.
    public mutating func emptied(_ compartment: String?, source: FillSource) -> [Action] {
        let names = compartment.map { [$0] } ?? fill.compartments
        var actions: [Action] = []
        for name in names {
            guard let alert = fill.emptied(name, source: source) else {
                actions.append(.note("emptied \(name) (\(source.rawValue)): no such compartment"))
                continue
            }
            if lastRefusal?.compartment == name { lastRefusal = nil }
            actions.append(.note("\(name) emptied (\(source.rawValue)) after \(alert.items) item(s)"))
            actions.append(.alert(alert))
        }
        guard actions.contains(where: { if case .alert = $0 { true } else { false } }) else { return actions }
        return actions + [.persistFill(fill.persistent), .publishStatus]
    }

    /// A sensor measured `compartment`'s level (0...1). A sharp drop counts as an emptying.
    public mutating func fillMeasured(_ compartment: String, level: Double) -> [Action] {
        guard fill.compartments.contains(compartment) else {
            return [.note("fill reading for unknown compartment \(compartment) ignored")]
        }
        let before = fill.view[compartment]
        let alerts = fill.measured(compartment, level: level)
        var actions: [Action] = alerts.map(Action.alert)
        if alerts.contains(where: { $0.kind == .emptied }) {
            if lastRefusal?.compartment == compartment { lastRefusal = nil }
            actions.insert(.note("\(compartment) emptied (level fell to \(Int((level * 100).rounded()))%)"), at: 0)
        }
        if !alerts.isEmpty { actions.append(.persistFill(fill.persistent)) }
        if !alerts.isEmpty || before != fill.view[compartment] { actions.append(.publishStatus) }
        return actions
    }

    // MARK: Timers

    /// A timer the machine started has fired.
    public mutating func timerFired(_ ticket: Ticket) -> [Action] {
        guard ticket == activeTimer else { return [.note("stale timer \(ticket) ignored")] }
        activeTimer = nil
        switch state {
        case .triggered(let cycle):
            var actions = transition(to: .capturing(cycle), cause: "settled for \(config.timing.settle.shortDescription)")
            let op = startOperation()
            actions.append(.capture(op))
            actions += startTimer(.captureTimeout, after: config.timeouts.capture)
            return actions
        case .capturing:
            return enterFault("capture timed out after \(config.timeouts.capture.shortDescription)")
        case .classifying:
            return enterFault("classification timed out after \(config.timeouts.classify.shortDescription)")
        case .routing(_, let report, .moving):
            return enterFault("flap did not reach \(report.route.angleDegrees)° within \(config.timeouts.actuate.shortDescription)")
        case .routing(let cycle, _, .dwelling(recorded: true)):
            return beginReturn(cycle, cause: "dwelled \(config.timing.dwell.shortDescription)")
        case .routing(let cycle, let report, .dwelling(recorded: false)):
            state = .routing(cycle, report, .awaitingRecord)
            var actions: [Action] = [.note("dwell over; waiting up to \(config.timeouts.record.shortDescription) for event \(report.cycle) to be recorded")]
            actions += startTimer(.recordWait, after: config.timeouts.record)
            return actions
        case .routing(let cycle, let report, .awaitingRecord):
            unrecordedEvents += 1
            var actions = abandonOperation()
            actions.append(.note("event of cycle \(report.cycle) not recorded within \(config.timeouts.record.shortDescription); returning anyway"))
            actions += beginReturn(cycle, cause: "dwelled; event recording timed out")
            return actions
        case .returning:
            return enterFault("flap did not return home within \(config.timeouts.actuate.shortDescription)")
        case .fault(_, retrying: true):
            var actions = transition(to: .returning(nil),
                                     cause: "retry \(consecutiveFaults) of \(config.retry.maxAttempts): homing flap")
            actions += moveFlapHome()
            return actions
        case .maintenance(flapHome: false):
            var actions = abandonOperation()
            actions.append(.note("flap did not confirm home within \(config.timeouts.actuate.shortDescription); staying in maintenance"))
            return actions
        case .stopping:
            var actions = abandonOperation()
            actions += transition(to: .stopped, cause: "flap did not confirm home within \(config.timeouts.actuate.shortDescription)")
            actions += [.releaseFlap, .finished]
            return actions
        case .idle, .fault(_, retrying: false), .maintenance(flapHome: true), .stopped:
            preconditionFailure("timer \(ticket) active in \(stateName.rawValue)")
        }
    }

    // MARK: Hardware completions

    /// The frame source delivered a frame.
    public mutating func frameCaptured(_ frame: Frame, ticket: Ticket) -> [Action] {
        guard takeOperation(ticket) else { return stale("frame \(frame.origin)", ticket) }
        guard case .capturing(let cycle) = state else {
            preconditionFailure("frame for \(ticket) in \(stateName.rawValue)")
        }
        var actions = transition(to: .classifying(cycle, frameOrigin: frame.origin), cause: "captured \(frame.origin)")
        actions.append(.classify(frame, startOperation()))
        actions += startTimer(.classifyTimeout, after: config.timeouts.classify)
        return actions
    }

    /// The frame source failed.
    public mutating func captureFailed(_ reason: String, ticket: Ticket) -> [Action] {
        guard takeOperation(ticket) else { return stale("capture failure", ticket) }
        guard case .capturing = state else { preconditionFailure("capture failure for \(ticket) in \(stateName.rawValue)") }
        return enterFault("capture failed: \(reason)")
    }

    /// The classifier produced a result: decide the route and move the flap.
    public mutating func classified(_ classification: Classification, ticket: Ticket) -> [Action] {
        guard takeOperation(ticket) else { return stale("classification", ticket) }
        guard case .classifying(let cycle, let origin) = state else {
            preconditionFailure("classification for \(ticket) in \(stateName.rawValue)")
        }
        var route = binMap.route(classification)
        var why = route.fallback ? " (fallback)" : ""
        if fill.isFull(route.bin) {
            let level = Int(((fill.level(of: route.bin)?.level ?? 1) * 100).rounded())
            switch config.fill.policy {
            case .keepRouting:
                why += " (full, \(level)%: routed anyway)"
            case .fallback where route.bin != config.routing.fallbackBin:
                if let angle = config.flap.angles[config.routing.fallbackBin] {
                    fill.noteDiverted(route.bin)
                    why = " (\(route.bin) full, \(level)%: fallback)"
                    route = Route(bin: config.routing.fallbackBin, angleDegrees: angle, fallback: true)
                }
            case .fallback:
                why += " (fallback compartment full, \(level)%: routed anyway)"
            case .refuse:
                fill.noteRefused(route.bin)
                let reason = "\(route.bin) is full (\(level)%): \(classification.label) refused, flap stays home"
                lastRefusal = (route.bin, reason)
                consecutiveFaults = 0
                if let next = pendingTrigger {
                    pendingTrigger = nil
                    return startCycle(next, cause: "\(reason); trigger during this cycle")
                }
                return stopTimer() + transition(to: .idle, cause: reason)
            }
        }
        let report = CycleReport(cycle: cycle.number, trigger: cycle.trigger, frameOrigin: origin,
                                 classification: classification, route: route)
        var actions = transition(to: .routing(cycle, report, .moving),
                                 cause: "\(classification.label) \(classification.confidence) → \(route.bin)\(why)")
        actions.append(.moveFlap(degrees: route.angleDegrees, startOperation()))
        actions += startTimer(.actuateTimeout, after: config.timeouts.actuate)
        return actions
    }

    /// The classifier failed.
    public mutating func classifyFailed(_ reason: String, ticket: Ticket) -> [Action] {
        guard takeOperation(ticket) else { return stale("classification failure", ticket) }
        guard case .classifying = state else { preconditionFailure("classify failure for \(ticket) in \(stateName.rawValue)") }
        return enterFault("classification failed: \(reason)")
    }

    /// The flap reached the angle it was sent to.
    public mutating func flapMoved(ticket: Ticket) -> [Action] {
        guard takeOperation(ticket) else { return stale("flap arrival", ticket) }
        switch state {
        case .routing(let cycle, let report, .moving):
            countsPerBin[report.route.bin, default: 0] += 1
            state = .routing(cycle, report, .dwelling(recorded: false))
            var actions: [Action] = [.note("flap at \(report.route.angleDegrees)° for \(report.route.bin); recording event, dwelling")]
            actions.append(.record(report, startOperation()))
            actions += fill.itemRouted(to: report.route.bin).map(Action.alert)
            actions.append(.persistFill(fill.persistent))
            actions += startTimer(.dwell, after: config.timing.dwell)
            return actions
        case .returning(let cycle):
            var actions = stopTimer()
            if cycle != nil { consecutiveFaults = 0 }
            if let next = pendingTrigger {
                pendingTrigger = nil
                actions += startCycle(next, cause: "flap home; trigger during previous cycle")
            } else {
                actions += transition(to: .idle, cause: cycle == nil ? "flap home; recovered from fault" : "flap home")
            }
            return actions
        case .maintenance(flapHome: false):
            var actions = stopTimer()
            state = .maintenance(flapHome: true)
            actions += [.note("flap locked home for maintenance"), .publishStatus]
            return actions
        case .stopping:
            var actions = stopTimer()
            actions += transition(to: .stopped, cause: "flap home")
            actions += [.releaseFlap, .finished]
            return actions
        case .idle, .triggered, .capturing, .classifying, .routing, .fault, .maintenance(flapHome: true), .stopped:
            preconditionFailure("flap arrival for \(ticket) in \(stateName.rawValue)")
        }
    }

    /// The flap could not be moved.
    public mutating func flapFailed(_ reason: String, ticket: Ticket) -> [Action] {
        guard takeOperation(ticket) else { return stale("flap failure", ticket) }
        switch state {
        case .routing(_, _, .moving), .returning:
            return enterFault("flap failed: \(reason)")
        case .maintenance(flapHome: false):
            return stopTimer() + [.note("flap failed to home for maintenance: \(reason)")]
        case .stopping:
            var actions = stopTimer()
            actions += transition(to: .stopped, cause: "flap failed to home: \(reason)")
            actions += [.releaseFlap, .finished]
            return actions
        default:
            preconditionFailure("flap failure for \(ticket) in \(stateName.rawValue)")
        }
    }

    /// The event of the current cycle is durable.
    public mutating func recorded(ticket: Ticket) -> [Action] {
        guard takeOperation(ticket) else { return stale("event recorded", ticket) }
        switch state {
        case .routing(let cycle, let report, .dwelling(recorded: false)):
            state = .routing(cycle, report, .dwelling(recorded: true))
            return [.note("event of cycle \(report.cycle) recorded")]
        case .routing(let cycle, _, .awaitingRecord):
            return stopTimer() + beginReturn(cycle, cause: "dwelled; event recorded")
        default:
            preconditionFailure("record completion for \(ticket) in \(stateName.rawValue)")
        }
    }

    /// The event could not be made durable. The item is already in its compartment, so the cycle
    /// carries on; the loss is counted in `unrecordedEvents`.
    public mutating func recordFailed(_ reason: String, ticket: Ticket) -> [Action] {
        guard takeOperation(ticket) else { return stale("record failure", ticket) }
        unrecordedEvents += 1
        switch state {
        case .routing(let cycle, let report, .dwelling(recorded: false)):
            state = .routing(cycle, report, .dwelling(recorded: true))
            return [.note("event of cycle \(report.cycle) NOT recorded: \(reason)"), .publishStatus]
        case .routing(let cycle, let report, .awaitingRecord):
            return stopTimer() + [.note("event of cycle \(report.cycle) NOT recorded: \(reason)")]
                + beginReturn(cycle, cause: "dwelled; event recording failed")
        default:
            preconditionFailure("record failure for \(ticket) in \(stateName.rawValue)")
        }
    }

    // MARK: Helpers

    private mutating func startCycle(_ trigger: TriggerEvent, cause: String) -> [Action] {
        cyclesStarted += 1
        var actions = transition(to: .triggered(Cycle(number: cyclesStarted, trigger: trigger)), cause: cause)
        actions += startTimer(.settle, after: config.timing.settle)
        return actions
    }

    private mutating func beginReturn(_ cycle: Cycle, cause: String) -> [Action] {
        var actions = transition(to: .returning(cycle), cause: cause)
        actions += moveFlapHome()
        return actions
    }

    private mutating func enterFault(_ reason: String) -> [Action] {
        var actions = abandonWork()
        consecutiveFaults += 1
        if consecutiveFaults <= config.retry.maxAttempts {
            let delay = config.retry.backoff(forAttempt: consecutiveFaults)
            actions += transition(to: .fault(reason: reason, retrying: true),
                                  cause: "\(reason); retry \(consecutiveFaults) of \(config.retry.maxAttempts) in \(delay.shortDescription)")
            actions += startTimer(.retryBackoff, after: delay)
        } else {
            actions += transition(to: .fault(reason: reason, retrying: false),
                                  cause: "\(reason); \(config.retry.maxAttempts) retries used, staying in fault until cleared")
        }
        return actions
    }

    /// Sends the flap home, guarded by the actuate timeout.
    private mutating func moveFlapHome() -> [Action] {
        var actions: [Action] = [.moveFlap(degrees: config.flap.homeDegrees, startOperation())]
        actions += startTimer(.actuateTimeout, after: config.timeouts.actuate)
        return actions
    }

    private mutating func transition(to next: State, cause: String) -> [Action] {
        let from = stateName
        state = next
        return [.log(Transition(from: from, to: stateName, cause: cause)), .publishStatus]
    }

    private mutating func nextTicket() -> Ticket {
        lastTicket += 1
        return Ticket(raw: lastTicket)
    }

    private mutating func startTimer(_ purpose: TimerPurpose, after delay: Duration) -> [Action] {
        var actions = stopTimer()
        let ticket = nextTicket()
        activeTimer = ticket
        actions.append(.startTimer(purpose, after: delay, ticket))
        return actions
    }

    private mutating func stopTimer() -> [Action] {
        guard let ticket = activeTimer else { return [] }
        activeTimer = nil
        return [.cancelTimer(ticket)]
    }

    private mutating func startOperation() -> Ticket {
        precondition(activeOperation == nil, "operation \(activeOperation!) still active")
        let ticket = nextTicket()
        activeOperation = ticket
        return ticket
    }

    private mutating func abandonOperation() -> [Action] {
        guard let ticket = activeOperation else { return [] }
        activeOperation = nil
        return [.cancelOperation(ticket)]
    }

    /// Drops the running timer, operation and any scheduled next cycle.
    private mutating func abandonWork() -> [Action] {
        pendingTrigger = nil
        return stopTimer() + abandonOperation()
    }

    private mutating func takeOperation(_ ticket: Ticket) -> Bool {
        guard ticket == activeOperation else { return false }
        activeOperation = nil
        return true
    }

    private func stale(_ what: String, _ ticket: Ticket) -> [Action] {
        [.note("stale \(what) \(ticket) ignored in \(stateName.rawValue)")]
    }
}
