extension BinStateMachine {
    /// The public name of a state, as logged and published in `BinStatus.state`.
    public enum StateName: String, Sendable, Hashable, CaseIterable {
        case idle, triggered, capturing, classifying, routing, returning, fault, maintenance
        case stopping, stopped
    }

    /// Identifies one timer or one hardware operation the machine asked for. A completion or timer
    /// firing whose ticket is no longer the active one (it was cancelled, or timed out) is stale and
    /// is ignored, so a late frame after a capture timeout can never be routed.
    public struct Ticket: Sendable, Hashable, CustomStringConvertible {
        public let raw: UInt64
        public init(raw: UInt64) { self.raw = raw }
        public var description: String { "#\(raw)" }
    }

    /// What a timer is for (the owner only needs it for logs and timing measurements).
    public enum TimerPurpose: String, Sendable, Hashable {
        case settle, captureTimeout, classifyTimeout, actuateTimeout, dwell, recordWait, retryBackoff
    }

    /// A change of state and why it happened.
    public struct Transition: Sendable, Hashable, CustomStringConvertible {
        public var from: StateName
        public var to: StateName
        public var cause: String
        public var description: String { "\(from.rawValue) → \(to.rawValue): \(cause)" }
    }

    /// What the machine decided about one item, handed to the owner to turn into a `BinEvent`.
    public struct CycleReport: Sendable {
        /// 1-based number of the cycle since start.
        public var cycle: Int
        public var trigger: TriggerEvent
        public var frameOrigin: String
        public var classification: Classification
        public var route: Route
    }

    /// An effect for the owner to perform, in the order given.
    public enum Action: Sendable {
        /// Log a transition (every state change produces exactly one).
        case log(Transition)
        /// Log something that did not change state: an ignored or counted trigger, a stale completion.
        case note(String)
        /// Call `timerFired(ticket)` after `after` on the injected clock.
        case startTimer(TimerPurpose, after: Duration, Ticket)
        /// The timer is no longer wanted (firing it anyway is harmless: it is stale).
        case cancelTimer(Ticket)
        /// Capture a frame; report `frameCaptured` or `captureFailed` with the ticket.
        case capture(Ticket)
        /// Classify the frame; report `classified` or `classifyFailed` with the ticket.
        case classify(Frame, Ticket)
        /// Move the flap; report `flapMoved` or `flapFailed` with the ticket.
        case moveFlap(degrees: Double, Ticket)
        /// Make the event durable; report `recorded` or `recordFailed` with the ticket.
        case record(CycleReport, Ticket)
        /// The operation's result is no longer wanted (it timed out or the bin left the state).
        case cancelOperation(Ticket)
        /// Stop driving the servo (after homing on shutdown).
        case releaseFlap
        /// Publish the current `snapshot` as the bin's status.
        case publishStatus
        /// Shutdown is complete; the owner may return.
        case finished
        /// Publish a fill alert (threshold crossed, or compartment emptied).
        case alert(FillAlert)
        /// Persist the fill records (latest wins) so counts and sent alerts survive a restart.
        case persistFill([String: FillRecord])
    }

    /// Counters and the current state, for the status document and for tests.
    public struct Snapshot: Sendable, Hashable {
        public var state: StateName
        public var faultReason: String?
        /// In fault and a retry is scheduled (false: retries used up, waits for an operator).
        public var retrying: Bool
        public var consecutiveFaults: Int
        public var countsPerBin: [String: Int]
        /// Start-triggers that arrived while a cycle ran (each counted once; at most one more cycle).
        public var triggersDuringCycle: Int
        /// Start-triggers dropped in fault, maintenance or shutdown.
        public var triggersIgnored: Int
        /// Edges closer than the debounce time to the previous accepted edge.
        public var bouncesIgnored: Int
        /// Events whose recording failed or did not finish in time.
        public var unrecordedEvents: Int
        public var cyclesStarted: Int
        /// Another cycle is scheduled for when the current one returns home.
        public var cyclePending: Bool
        /// Nothing is scheduled: idle with nothing pending, fault without retry, maintenance with
        /// the flap home, or stopped.
        public var atRest: Bool
        /// Every compartment's fill.
        public var fill: [String: CompartmentFill] = [:]
        /// Why the last item was refused (policy `refuse`), until that compartment is emptied.
        public var refusal: String?
    }
}
