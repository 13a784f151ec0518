import BinCore

/// Runs a scenario, a text file of steps, against a `StateMachineDriver` and its fakes.
///
/// One step per line; `#` starts a comment. `config` lines must come before any other step.
/// ```
/// config settle|debounce|dwell|capture-timeout|classify-timeout|actuate-timeout|record-timeout <duration>
/// config threshold <0...1> | retries <n> | backoff <duration> | backoff-cap <duration>
/// config capacity <items> | nearly-full <0...1> | full <0...1> | policy keep_routing|fallback|refuse
/// trigger open|close|beam|proximity
/// frame <name>                      next capture returns a frame named <name>
/// capture fails|hangs               next capture fails / never answers
/// classify <label> <confidence>     classification of the last named frame
/// classify fails|hangs              for the last named frame
/// flap fails|hangs                  next flap move
/// record fails|hangs                next event record
/// advance <duration>                e.g. 300ms, 2s
/// maintenance on|off
/// shutdown
/// emptied <bin>|all [button|command]   the compartment was emptied (default: command)
/// measure <bin> <0...1>             a fill sensor reading
/// expect state <name>
/// expect route <bin> [fallback]     route of the last published event
/// expect publish [n]                n (default 1) events published since the last publish check
/// expect no publish
/// expect flap <degrees>|home        the last flap move
/// expect moves <d1> <d2> …          every flap move so far
/// expect fault <text>               in fault, reason contains <text>
/// expect retrying yes|no
/// expect count <bin> <n> | during-cycle <n> | ignored <n> | bounces <n> | cycles <n>
/// expect released
/// expect alert <bin> <kind>         the next unchecked fill alert (nearly_full, full, emptied)
/// expect no alert                   no fill alert since the last alert check
/// expect level <bin> <0...1>        the compartment's fill level
/// expect items <bin> <n> | refused <bin> <n> | diverted <bin> <n>
/// expect refusal <text>             the status's refusal reason contains <text>
/// ```
public struct ScenarioRunner {
    public init() {}

    /// Runs the scenario and returns its failures as `file:line: message` (empty: it passed).
    public func run(_ text: String, file: String) -> [String] {
        var config = TestBins.config
        var driver: StateMachineDriver?
        var failures: [String] = []
        var lastFrame: String?
        var publishedChecked = 0
        var alertsChecked = 0

        func fail(_ line: Int, _ message: String) { failures.append("\(file):\(line): \(message)") }

        for (offset, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let lineNumber = offset + 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let command = words.first else { continue }
            let args = Array(words.dropFirst())

            if command == "config" {
                guard driver == nil else { fail(lineNumber, "config must come before other steps"); continue }
                guard args.count == 2 else { fail(lineNumber, "config needs a key and a value"); continue }
                if let error = apply(config: args[0], value: args[1], to: &config) { fail(lineNumber, error) }
                continue
            }
            if driver == nil {
                do { driver = try StateMachineDriver(config: config) } catch {
                    fail(lineNumber, "bad config: \(error)")
                    return failures
                }
            }
            guard let bin = driver else { continue }

            switch (command, args.first, args.count) {
            case ("trigger", let kind?, 1):
                guard let kind = TriggerKind(rawValue: kind) else { fail(lineNumber, "unknown trigger '\(kind)'"); break }
                bin.trigger(kind)
            case ("frame", let name?, 1):
                bin.frames.enqueue(origin: name)
                lastFrame = name
            case ("capture", "fails", _): bin.frames.enqueue(.fail(args.dropFirst().joined(separator: " ").ifEmpty("camera error")))
            case ("capture", "hangs", 1): bin.frames.enqueue(.hang)
            case ("classify", let what?, _):
                guard let frame = lastFrame else { fail(lineNumber, "classify needs a preceding 'frame <name>'"); break }
                if what == "fails" {
                    bin.classifier.set(frame, .fail(args.dropFirst().joined(separator: " ").ifEmpty("inference error")))
                } else if what == "hangs" {
                    bin.classifier.set(frame, .hang)
                } else if args.count == 2, let confidence = Double(args[1]) {
                    bin.classifier.set(frame, .result(label: what, confidence: confidence))
                } else {
                    fail(lineNumber, "expected 'classify <label> <confidence>', 'classify fails' or 'classify hangs'")
                }
            case ("flap", "fails", _): bin.flap.enqueue(.fail(args.dropFirst().joined(separator: " ").ifEmpty("servo error")))
            case ("flap", "hangs", 1): bin.flap.enqueue(.hang)
            case ("record", "fails", _): bin.sink.enqueue(.fail(args.dropFirst().joined(separator: " ").ifEmpty("outbox error")))
            case ("record", "hangs", 1): bin.sink.enqueue(.hang)
            case ("advance", let text?, 1):
                guard let duration = Duration(parsing: text) else { fail(lineNumber, "bad duration '\(text)'"); break }
                bin.advance(by: duration)
            case ("maintenance", "on", 1): bin.enterMaintenance("scenario")
            case ("maintenance", "off", 1): bin.exitMaintenance("scenario")
            case ("shutdown", nil, 0): bin.shutdown("scenario")
            case ("emptied", let name?, 1...2):
                let source = args.count == 2 ? FillSource(rawValue: args[1]) : .command
                guard let source else { fail(lineNumber, "emptied source must be button or command"); break }
                bin.emptied(name == "all" ? nil : name, source: source)
            case ("measure", let name?, 2):
                guard let level = Double(args[1]) else { fail(lineNumber, "measure needs a level 0...1"); break }
                bin.measured(name, level: level)
            case ("expect", "alert", 3):
                let alerts = bin.alerts
                guard alertsChecked < alerts.count else { fail(lineNumber, "alert: expected \(args[1]) \(args[2]), got none"); break }
                let alert = alerts[alertsChecked]
                alertsChecked += 1
                if alert.compartment != args[1] || alert.kind.rawValue != args[2] {
                    fail(lineNumber, "alert: expected \(args[1]) \(args[2]), got \(alert.compartment) \(alert.kind.rawValue)")
                }
            case ("expect", "no", 2) where args[1] == "alert":
                let new = bin.alerts.dropFirst(alertsChecked)
                alertsChecked = bin.alerts.count
                if !new.isEmpty {
                    fail(lineNumber, "alert: expected none, got \(new.map { "\($0.compartment) \($0.kind.rawValue)" }.joined(separator: ", "))")
                }
            case ("expect", _?, _):
                if let message = check(Array(args), bin, &publishedChecked) { fail(lineNumber, message) }
            default:
                fail(lineNumber, "unknown step '\(words.joined(separator: " "))'")
            }
        }
        return failures
    }

    private func apply(config key: String, value: String, to config: inout BinConfig) -> String? {
        if let duration = Duration(parsing: value) {
            switch key {
            case "settle": config.timing.settle = duration
            case "debounce": config.timing.debounce = duration
            case "dwell": config.timing.dwell = duration
            case "capture-timeout": config.timeouts.capture = duration
            case "classify-timeout": config.timeouts.classify = duration
            case "actuate-timeout": config.timeouts.actuate = duration
            case "record-timeout": config.timeouts.record = duration
            case "backoff": config.retry.initialBackoff = duration
            case "backoff-cap": config.retry.maxBackoff = duration
            default: return "unknown duration key '\(key)'"
            }
            return nil
        }
        switch key {
        case "threshold":
            guard let v = Double(value) else { return "threshold must be a number" }
            config.routing.confidenceThreshold = v
        case "retries":
            guard let v = Int(value) else { return "retries must be an integer" }
            config.retry.maxAttempts = v
        case "capacity":
            guard let v = Int(value) else { return "capacity must be an integer" }
            config.fill.capacity = v
        case "nearly-full":
            guard let v = Double(value) else { return "nearly-full must be a number" }
            config.fill.nearlyFull = v
        case "full":
            guard let v = Double(value) else { return "full must be a number" }
            config.fill.full = v
        case "policy":
            guard let v = FillConfig.FullPolicy(rawValue: value) else { return "policy must be keep_routing, fallback or refuse" }
            config.fill.policy = v
        default:
            return "unknown config key '\(key)' or bad value '\(value)'"
        }
        return nil
    }

    /// Returns nil when the expectation holds, else what went wrong.
    private func check(_ args: [String], _ bin: StateMachineDriver, _ publishedChecked: inout Int) -> String? {
        let snapshot = bin.snapshot
        func expectInt(_ name: String, _ actual: Int) -> String? {
            guard args.count == 2, let want = Int(args[1]) else { return "expected 'expect \(args[0]) <n>'" }
            return actual == want ? nil : "\(name): expected \(want), got \(actual)"
        }
        switch args[0] {
        case "state":
            guard args.count == 2 else { return "expected 'expect state <name>'" }
            return snapshot.state.rawValue == args[1] ? nil
                : "state: expected \(args[1]), got \(snapshot.state.rawValue) (last transition: \(bin.transitions.last.map(String.init(describing:)) ?? "none"))"
        case "route":
            guard let report = bin.reports.last else { return "route: nothing published" }
            guard args.count >= 2 else { return "expected 'expect route <bin> [fallback]'" }
            let wantFallback = args.count == 3 && args[2] == "fallback"
            let route = report.route
            return route.bin == args[1] && route.fallback == wantFallback ? nil
                : "route: expected \(args[1])\(wantFallback ? " fallback" : ""), got \(route.bin)\(route.fallback ? " fallback" : "")"
        case "publish":
            let want = args.count >= 2 ? Int(args[1]) ?? -1 : 1
            let new = bin.reports.count - publishedChecked
            publishedChecked = bin.reports.count
            return new == want ? nil : "publish: expected \(want) new event(s), got \(new)"
        case "no":
            guard args.count == 2, args[1] == "publish" else { return "expected 'expect no publish'" }
            let new = bin.reports.count - publishedChecked
            publishedChecked = bin.reports.count
            return new == 0 ? nil : "publish: expected none, got \(new)"
        case "flap":
            guard args.count == 2 else { return "expected 'expect flap <degrees>|home'" }
            let want = args[1] == "home" ? bin.machine.config.flap.homeDegrees : Double(args[1])
            guard let want else { return "bad angle '\(args[1])'" }
            guard let last = bin.flap.moves.last else { return "flap: never moved" }
            return last == want ? nil : "flap: expected \(want)°, last move was \(last)°"
        case "moves":
            let want = args.dropFirst().compactMap(Double.init)
            return bin.flap.moves == want ? nil : "moves: expected \(want), got \(bin.flap.moves)"
        case "fault":
            let text = args.dropFirst().joined(separator: " ")
            guard snapshot.state == .fault, let reason = snapshot.faultReason else {
                return "fault: expected fault, state is \(snapshot.state.rawValue)"
            }
            return reason.contains(text) ? nil : "fault: reason '\(reason)' does not contain '\(text)'"
        case "retrying":
            guard args.count == 2 else { return "expected 'expect retrying yes|no'" }
            return snapshot.retrying == (args[1] == "yes") ? nil : "retrying: expected \(args[1]), got \(snapshot.retrying)"
        case "count":
            guard args.count == 3, let want = Int(args[2]) else { return "expected 'expect count <bin> <n>'" }
            let actual = snapshot.countsPerBin[args[1], default: 0]
            return actual == want ? nil : "count \(args[1]): expected \(want), got \(actual)"
        case "during-cycle": return expectInt("triggers during cycle", snapshot.triggersDuringCycle)
        case "ignored": return expectInt("triggers ignored", snapshot.triggersIgnored)
        case "bounces": return expectInt("bounces ignored", snapshot.bouncesIgnored)
        case "cycles": return expectInt("cycles started", snapshot.cyclesStarted)
        case "level":
            guard args.count == 3, let want = Double(args[2]) else { return "expected 'expect level <bin> <0...1>'" }
            let actual = snapshot.fill[args[1]]?.level ?? -1
            return abs(actual - want) < 1e-9 ? nil : "level \(args[1]): expected \(want), got \(actual)"
        case "items", "refused", "diverted":
            guard args.count == 3, let want = Int(args[2]) else { return "expected 'expect \(args[0]) <bin> <n>'" }
            guard let fill = snapshot.fill[args[1]] else { return "\(args[0]): no compartment \(args[1])" }
            let actual = args[0] == "items" ? fill.items : args[0] == "refused" ? fill.refused : fill.diverted
            return actual == want ? nil : "\(args[0]) \(args[1]): expected \(want), got \(actual)"
        case "refusal":
            let text = args.dropFirst().joined(separator: " ")
            guard let reason = snapshot.refusal else { return "refusal: none (expected one containing '\(text)')" }
            return reason.contains(text) ? nil : "refusal: '\(reason)' does not contain '\(text)'"
        case "released":
            return bin.flap.releaseCount > 0 ? nil : "released: the flap was never released"
        default:
            return "unknown expectation '\(args.joined(separator: " "))'"
        }
    }
}

extension String {
    fileprivate func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
