import BinCore
import Foundation
import TOMLKit

/// Reads a `SmartBinConfig` from TOML, strictly: an unknown section or key, or a value of the
/// wrong type, is an error naming the file, the key and its line.
public enum ConfigLoader {
    /// Known keys per section (`flap.angles` is a table of compartment → degrees).
    static let schema: [String: Set<String>] = [
        "bin": ["id", "fleet", "board"],
        "model": ["path", "labels", "preset", "threads"],
        "mqtt": ["host", "port", "client_id", "username", "password_file", "topic_prefix", "keepalive_s",
                 "tls", "ca_file", "cert_file", "key_file", "tls_version", "home_assistant_discovery",
                 "home_assistant_prefix"],
        "routing": ["confidence_threshold", "fallback_bin"],
        "timing": ["debounce_ms", "settle_ms", "dwell_ms"],
        "timeouts": ["capture_ms", "classify_ms", "actuate_ms", "record_ms"],
        "retry": ["max_attempts", "initial_backoff_ms", "max_backoff_ms", "multiplier"],
        "flap": ["home_deg", "angles"],
        "storage": ["data_dir", "outbox_max_mb"],
        "simulation": ["images", "rate", "script"],
        "fill": ["capacity", "capacities", "nearly_full", "full", "rearm_margin", "policy", "emptied_drop"],
    ]

    /// Loads and validates the file at `path`.
    public static func load(path: String) throws -> SmartBinConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw AppError("\(path): cannot read config file (\(error.localizedDescription))")
        }
        return try parse(text, file: path)
    }

    /// Parses config text; `file` names it in errors.
    /// - Throws: `AppError` naming the file, line and key of the first problem (and how many more
    ///   there are: `smartbin config check` lists them all).
    public static func parse(_ text: String, file: String) throws -> SmartBinConfig {
        let (config, problems) = analyse(text, file: file)
        if let first = problems.first {
            let more = problems.count > 1 ? " (and \(problems.count - 1) more problem(s): `smartbin config check \(file)` lists them)" : ""
            throw AppError(first.description + more)
        }
        return config ?? SmartBinConfig()
    }

    /// Parses config text and collects every problem instead of stopping at the first.
    /// - Returns: the config (nil when the text is not TOML at all, or only parts of it are
    ///   unsafe to hand to the TOML parser) and every problem found: unknown sections and keys,
    ///   wrong types, values out of range, each at its line.
    public static func analyse(_ text: String, file: String) -> (config: SmartBinConfig?, problems: [ConfigProblem]) {
        let table: TOMLTable
        do {
            try rejectUnsafeTableHeaders(text, file: file)
            try rejectArrays(text, file: file)
            table = try TOMLTable(string: text)
        } catch let problem as ConfigProblem {
            return (nil, [problem])
        } catch let error as TOMLParseError {
            return (nil, [ConfigProblem(file: file, line: error.source.begin.line, key: "", message: error.description)])
        } catch {
            return (nil, [ConfigProblem(file: file, line: 0, key: "", message: "\(error)")])
        }
        var reader = Reader(text: text, file: file)
        var config = SmartBinConfig()
        for section in table.keys {
            guard let keys = schema[section] else {
                reader.problems.append(ConfigProblem(file: file, line: reader.line(of: section, in: nil), key: "[\(section)]",
                                                     message: "unknown section [\(section)] (known: \(schema.keys.sorted().joined(separator: ", ")))"))
                continue
            }
            guard let values = table[section]?.table else {
                reader.problems.append(ConfigProblem(file: file, line: reader.line(of: section, in: nil), key: section,
                                                     message: "'\(section)' must be a [section]"))
                continue
            }
            reader.section = section
            reader.values = values
            for key in values.keys where !keys.contains(key) {
                reader.report(key, "unknown key '\(key)' in [\(section)] (known: \(keys.sorted().joined(separator: ", ")))")
            }
            switch section {
            case "bin":
                config.bin.id = reader.string("id") ?? config.bin.id
                config.bin.fleet = reader.string("fleet") ?? config.bin.fleet
                config.bin.board = reader.string("board") ?? config.bin.board
                for (key, value) in [("id", config.bin.id), ("fleet", config.bin.fleet)] {
                    if value.isEmpty || value.contains(where: { "/#+ ".contains($0) }) {
                        reader.report(key, "'\(value)' must be non-empty without '/', '#', '+' or spaces (it is part of MQTT topics)")
                    }
                }
            case "model":
                config.model.path = reader.string("path")
                config.model.labels = reader.string("labels")
                config.model.preset = reader.string("preset", oneOf: ["torch", "caffe"])
                config.model.threads = reader.int("threads", range: 1...64) ?? config.model.threads
            case "mqtt":
                config.mqtt.host = reader.string("host") ?? config.mqtt.host
                config.mqtt.port = reader.int("port", range: 1...65535) ?? config.mqtt.port
                config.mqtt.clientID = reader.string("client_id")
                config.mqtt.username = reader.string("username")
                config.mqtt.passwordFile = reader.string("password_file")
                config.mqtt.topicPrefix = reader.string("topic_prefix") ?? config.mqtt.topicPrefix
                config.mqtt.keepAliveSeconds = reader.int("keepalive_s", range: 5...3600) ?? config.mqtt.keepAliveSeconds
                config.mqtt.tls = reader.bool("tls") ?? config.mqtt.tls
                config.mqtt.caFile = reader.string("ca_file")
                config.mqtt.certFile = reader.string("cert_file")
                config.mqtt.keyFile = reader.string("key_file")
                config.mqtt.tlsVersion = reader.string("tls_version", oneOf: ["tlsv1.2", "tlsv1.3"]) ?? config.mqtt.tlsVersion
                config.mqtt.homeAssistantDiscovery = reader.bool("home_assistant_discovery") ?? config.mqtt.homeAssistantDiscovery
                if let prefix = reader.string("home_assistant_prefix") {
                    if prefix.isEmpty || prefix.hasPrefix("/") || prefix.hasSuffix("/") || prefix.contains(where: { "#+".contains($0) }) {
                        reader.report("home_assistant_prefix", "'\(prefix)' must be a topic prefix without '#', '+' or a leading or trailing '/'")
                    } else {
                        config.mqtt.homeAssistantPrefix = prefix
                    }
                }
            case "routing":
                config.controller.routing.confidenceThreshold = reader.double("confidence_threshold", range: 0...1) ?? config.controller.routing.confidenceThreshold
                config.controller.routing.fallbackBin = reader.string("fallback_bin") ?? config.controller.routing.fallbackBin
            case "timing":
                config.controller.timing.debounce = reader.milliseconds("debounce_ms") ?? config.controller.timing.debounce
                config.controller.timing.settle = reader.milliseconds("settle_ms") ?? config.controller.timing.settle
                config.controller.timing.dwell = reader.milliseconds("dwell_ms") ?? config.controller.timing.dwell
            case "timeouts":
                config.controller.timeouts.capture = reader.milliseconds("capture_ms", minimum: 1) ?? config.controller.timeouts.capture
                config.controller.timeouts.classify = reader.milliseconds("classify_ms", minimum: 1) ?? config.controller.timeouts.classify
                config.controller.timeouts.actuate = reader.milliseconds("actuate_ms", minimum: 1) ?? config.controller.timeouts.actuate
                config.controller.timeouts.record = reader.milliseconds("record_ms", minimum: 1) ?? config.controller.timeouts.record
            case "retry":
                config.controller.retry.maxAttempts = reader.int("max_attempts", range: 0...1000) ?? config.controller.retry.maxAttempts
                config.controller.retry.initialBackoff = reader.milliseconds("initial_backoff_ms") ?? config.controller.retry.initialBackoff
                config.controller.retry.maxBackoff = reader.milliseconds("max_backoff_ms") ?? config.controller.retry.maxBackoff
                config.controller.retry.multiplier = reader.double("multiplier", range: 1...10) ?? config.controller.retry.multiplier
            case "flap":
                config.controller.flap.homeDegrees = reader.double("home_deg", range: 0...180) ?? config.controller.flap.homeDegrees
                if let angles = reader.angles("angles") { config.controller.flap.angles = angles }
                config.flapAnglesFromConfig = true
            case "storage":
                config.storage.dataDirectory = reader.string("data_dir")
                config.storage.outboxMaxMegabytes = reader.int("outbox_max_mb", range: 1...65536) ?? config.storage.outboxMaxMegabytes
            case "simulation":
                config.simulation.images = reader.string("images")
                config.simulation.rate = reader.double("rate", range: 0.001...1000) ?? config.simulation.rate
                config.simulation.script = reader.string("script")
            case "fill":
                config.controller.fill.capacity = reader.int("capacity", range: 1...1_000_000)
                if let capacities = reader.capacities("capacities") { config.controller.fill.capacities = capacities }
                config.controller.fill.nearlyFull = reader.double("nearly_full", range: 0...1) ?? config.controller.fill.nearlyFull
                config.controller.fill.full = reader.double("full", range: 0...1) ?? config.controller.fill.full
                config.controller.fill.rearmMargin = reader.double("rearm_margin", range: 0...1) ?? config.controller.fill.rearmMargin
                config.controller.fill.emptiedDrop = reader.double("emptied_drop", range: 0...1) ?? config.controller.fill.emptiedDrop
                if let policy = reader.string("policy", oneOf: Set(FillConfig.FullPolicy.allCases.map(\.rawValue))) {
                    config.controller.fill.policy = FillConfig.FullPolicy(rawValue: policy)!
                }
                if config.controller.fill.nearlyFull > config.controller.fill.full {
                    reader.report("nearly_full", "(\(config.controller.fill.nearlyFull)) must not be above fill.full (\(config.controller.fill.full))")
                }
            default:
                break
            }
        }
        // In file order, as an editor would fix them.
        let problems = reader.problems.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
        return (config, problems)
    }

    /// toml++ 3 (under TOMLKit) parses a table header by asserting that the character after
    /// `[` / `[[` is a bare-key character or a quote (`TOML_ASSERT_ASSUME` in `parse_key`): a
    /// debug build aborts, a release build has undefined behaviour (the assert becomes an
    /// optimiser assumption). Found by the config fuzz target on `[é]`, `[\u{17}…`, `[|iming]`;
    /// regressions in `Fuzz/regressions/config/`. So a line whose first non-blank character is `[`
    /// must continue on that line (after more `[` and blanks) with `A-Z a-z 0-9 _ -`, a quote, or
    /// `]`; otherwise the file is refused here, before toml++ sees it. (The cost: a nested array
    /// on its own line starting with `[{`, `[+` or a bare `[` is refused; no SmartBin key takes one.)
    static func rejectUnsafeTableHeaders(_ text: String, file: String) throws {
        // Unicode scalars, not Characters: "[" followed by a combining mark is one Character.
        for (index, line) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // toml++ skips a UTF-8 byte order mark at the start of the file.
            let name = line.drop { $0 == " " || $0 == "\t" || (index == 0 && $0 == "\u{FEFF}") }
            guard name.first == "[" else { continue }
            // As toml++ reads a header: '[', blanks, an optional second '[' (right after the
            // first; after blanks toml++ reports the error itself), blanks, then the key. Nothing
            // after the bracket(s) on the line is just as fatal (`[` then a line break).
            let isBlank: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" }
            var rest = name.dropFirst()
            let hadBlank = rest.first.map(isBlank) ?? false
            rest = rest.drop(while: isBlank)
            if rest.first == "[" {
                if hadBlank { continue }
                rest = rest.dropFirst().drop(while: isBlank)
            }
            let first = rest.first ?? "\n"
            let allowed = (0x41...0x5A).contains(first.value) || (0x61...0x7A).contains(first.value)
                || (0x30...0x39).contains(first.value) || "_-\"']".unicodeScalars.contains(first)
            if !allowed {
                throw ConfigProblem(file: file, line: index + 1, key: "", message: "a [table] name must start with a letter, digit, '_', '-' or a quote")
            }
        }
    }

    /// No SmartBin key takes an array, and toml++ 3 asserts (abort in debug, undefined behaviour
    /// in release) on malformed ones such as `x = [1, } 3]` (found by the config fuzz target;
    /// `Fuzz/regressions/config/toml-array-*`). So a `[` in a value (outside strings and comments)
    /// is refused before toml++ parses anything.
    static func rejectArrays(_ text: String, file: String) throws {
        let scalars = Array(text.unicodeScalars)
        var i = 0, line = 1
        var atLineStart = true
        while i < scalars.count {
            let c = scalars[i]
            switch c {
            case "\n":
                line += 1; atLineStart = true; i += 1; continue
            case " ", "\t", "\r", "\u{FEFF}":
                i += 1; continue
            case "#":
                while i < scalars.count && scalars[i] != "\n" { i += 1 }
                continue
            case "\"", "'":
                let triple = i + 2 < scalars.count && scalars[i + 1] == c && scalars[i + 2] == c
                i += triple ? 3 : 1
                while i < scalars.count {
                    if scalars[i] == "\n" {
                        line += 1
                        if !triple { break }  // toml++ reports the unterminated string
                    }
                    if c == "\"" && scalars[i] == "\\" { i += 2; continue }
                    if scalars[i] == c && (!triple || (i + 2 < scalars.count && scalars[i + 1] == c && scalars[i + 2] == c)) {
                        i += triple ? 3 : 1
                        break
                    }
                    i += 1
                }
            case "[" where atLineStart:
                // A [table] or [[array-of-tables]] header (checked by rejectUnsafeTableHeaders).
                i += 1
                if i < scalars.count && scalars[i] == "[" { i += 1 }
            case "[":
                throw ConfigProblem(file: file, line: line, key: "", message: "arrays are not used by any SmartBin key")
            default:
                i += 1
            }
            atLineStart = false
        }
    }

    /// Typed access to one section's values. A value of the wrong type or out of range reads as
    /// nil and is recorded in `problems`, naming file, key and line, so one pass finds them all.
    struct Reader {
        let text: String
        let file: String
        var section = ""
        var values = TOMLTable()
        /// Every problem found so far, in the order found.
        var problems: [ConfigProblem] = []

        init(text: String, file: String) {
            self.text = text
            self.file = file
        }

        /// The 1-based line where `key` is set inside `[section]` (or where the section starts).
        func line(of key: String, in section: String?) -> Int {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            var current: String?
            for (index, raw) in lines.enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix("[") {
                    current = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
                    if section == nil && current == key { return index + 1 }
                    continue
                }
                if current == section, line.hasPrefix(key),
                   line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).hasPrefix("=") { return index + 1 }
            }
            return 0
        }

        /// Records a problem with `key` of the current section.
        mutating func report(_ key: String, _ message: String) {
            problems.append(ConfigProblem(file: file, line: line(of: key, in: section), key: "\(section).\(key)", message: message))
        }

        mutating func string(_ key: String, oneOf allowed: Set<String>? = nil) -> String? {
            guard let value = values[key] else { return nil }
            guard let string = value.string else { report(key, "must be a string, not \(value.type)"); return nil }
            if let allowed, !allowed.contains(string) {
                report(key, "is '\(string)'; expected one of \(allowed.sorted().joined(separator: ", "))")
                return nil
            }
            return string
        }

        mutating func int(_ key: String, range: ClosedRange<Int>) -> Int? {
            guard let value = values[key] else { return nil }
            guard let int = value.int else { report(key, "must be an integer, not \(value.type)"); return nil }
            guard range.contains(int) else { report(key, "is \(int); expected \(range.lowerBound)...\(range.upperBound)"); return nil }
            return int
        }

        mutating func double(_ key: String, range: ClosedRange<Double>) -> Double? {
            guard let value = values[key] else { return nil }
            guard let number = value.double ?? value.int.map(Double.init) else {
                report(key, "must be a number, not \(value.type)")
                return nil
            }
            guard range.contains(number) else { report(key, "is \(number); expected \(range.lowerBound)...\(range.upperBound)"); return nil }
            return number
        }

        mutating func bool(_ key: String) -> Bool? {
            guard let value = values[key] else { return nil }
            guard let bool = value.bool else { report(key, "must be true or false, not \(value.type)"); return nil }
            return bool
        }

        mutating func milliseconds(_ key: String, minimum: Int = 0) -> Duration? {
            int(key, range: minimum...86_400_000).map { .milliseconds($0) }
        }

        mutating func capacities(_ key: String) -> [String: Int]? {
            guard let value = values[key] else { return nil }
            guard let table = value.table else { report(key, "must be a table of compartment = items"); return nil }
            var capacities: [String: Int] = [:]
            for name in table.keys {
                guard let items = table[name]?.int, items >= 1 else {
                    report(key, "entry '\(name)' must be a whole number of items, at least 1")
                    return nil
                }
                capacities[name] = items
            }
            return capacities
        }

        mutating func angles(_ key: String) -> [String: Double]? {
            guard let value = values[key] else { return nil }
            guard let table = value.table else { report(key, "must be a table of compartment = degrees"); return nil }
            var angles: [String: Double] = [:]
            for name in table.keys {
                guard let degrees = table[name]?.double ?? table[name]?.int.map(Double.init), (0...180).contains(degrees) else {
                    report(key, "entry '\(name)' must be an angle in degrees, 0...180")
                    return nil
                }
                angles[name] = degrees
            }
            return angles
        }
    }
}

/// One problem with a config file: where it is (file, 1-based line, `section.key`) and what is wrong.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line (0 when the key's line could not be found).
    public var line: Int
    /// `section.key`, `[section]` for an unknown section, or empty for a syntax error.
    public var key: String
    /// What is wrong, without the location.
    public var message: String

    public init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `file:line: key: message`.
    public var description: String {
        let place = line > 0 ? "\(file):\(line)" : file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}
