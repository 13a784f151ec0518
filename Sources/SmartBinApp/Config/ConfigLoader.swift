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
    public static func parse(_ text: String, file: String) throws -> SmartBinConfig {
        try rejectUnsafeTableHeaders(text, file: file)
        try rejectArrays(text, file: file)
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw AppError("\(file):\(error.source.begin.line): \(error.description)")
        }
        var reader = Reader(text: text, file: file)
        var config = SmartBinConfig()
        for section in table.keys {
            guard let keys = schema[section] else {
                throw AppError("\(file):\(reader.line(of: section, in: nil)): unknown section [\(section)] (known: \(schema.keys.sorted().joined(separator: ", ")))")
            }
            guard let values = table[section]?.table else {
                throw AppError("\(file):\(reader.line(of: section, in: nil)): '\(section)' must be a [section]")
            }
            for key in values.keys where !keys.contains(key) {
                throw AppError("\(file):\(reader.line(of: key, in: section)): unknown key '\(key)' in [\(section)] (known: \(keys.sorted().joined(separator: ", ")))")
            }
            reader.section = section
            reader.values = values
            switch section {
            case "bin":
                config.bin.id = try reader.string("id") ?? config.bin.id
                config.bin.fleet = try reader.string("fleet") ?? config.bin.fleet
                config.bin.board = try reader.string("board") ?? config.bin.board
                for (key, value) in [("id", config.bin.id), ("fleet", config.bin.fleet)] {
                    guard !value.isEmpty, !value.contains(where: { "/#+ ".contains($0) }) else {
                        throw AppError("\(file):\(reader.line(of: key, in: section)): bin.\(key) '\(value)' must be non-empty without '/', '#', '+' or spaces (it is part of MQTT topics)")
                    }
                }
            case "model":
                config.model.path = try reader.string("path")
                config.model.labels = try reader.string("labels")
                config.model.preset = try reader.string("preset", oneOf: ["torch", "caffe"])
                config.model.threads = try reader.int("threads", range: 1...64) ?? config.model.threads
            case "mqtt":
                config.mqtt.host = try reader.string("host") ?? config.mqtt.host
                config.mqtt.port = try reader.int("port", range: 1...65535) ?? config.mqtt.port
                config.mqtt.clientID = try reader.string("client_id")
                config.mqtt.username = try reader.string("username")
                config.mqtt.passwordFile = try reader.string("password_file")
                config.mqtt.topicPrefix = try reader.string("topic_prefix") ?? config.mqtt.topicPrefix
                config.mqtt.keepAliveSeconds = try reader.int("keepalive_s", range: 5...3600) ?? config.mqtt.keepAliveSeconds
                config.mqtt.tls = try reader.bool("tls") ?? config.mqtt.tls
                config.mqtt.caFile = try reader.string("ca_file")
                config.mqtt.certFile = try reader.string("cert_file")
                config.mqtt.keyFile = try reader.string("key_file")
                config.mqtt.tlsVersion = try reader.string("tls_version", oneOf: ["tlsv1.2", "tlsv1.3"]) ?? config.mqtt.tlsVersion
                config.mqtt.homeAssistantDiscovery = try reader.bool("home_assistant_discovery") ?? config.mqtt.homeAssistantDiscovery
                if let prefix = try reader.string("home_assistant_prefix") {
                    guard !prefix.isEmpty, !prefix.hasPrefix("/"), !prefix.hasSuffix("/"),
                          !prefix.contains(where: { "#+".contains($0) }) else {
                        throw reader.problem("home_assistant_prefix", "'\(prefix)' must be a topic prefix without '#', '+' or a leading or trailing '/'")
                    }
                    config.mqtt.homeAssistantPrefix = prefix
                }
            case "routing":
                config.controller.routing.confidenceThreshold = try reader.double("confidence_threshold", range: 0...1) ?? config.controller.routing.confidenceThreshold
                config.controller.routing.fallbackBin = try reader.string("fallback_bin") ?? config.controller.routing.fallbackBin
            case "timing":
                config.controller.timing.debounce = try reader.milliseconds("debounce_ms") ?? config.controller.timing.debounce
                config.controller.timing.settle = try reader.milliseconds("settle_ms") ?? config.controller.timing.settle
                config.controller.timing.dwell = try reader.milliseconds("dwell_ms") ?? config.controller.timing.dwell
            case "timeouts":
                config.controller.timeouts.capture = try reader.milliseconds("capture_ms", minimum: 1) ?? config.controller.timeouts.capture
                config.controller.timeouts.classify = try reader.milliseconds("classify_ms", minimum: 1) ?? config.controller.timeouts.classify
                config.controller.timeouts.actuate = try reader.milliseconds("actuate_ms", minimum: 1) ?? config.controller.timeouts.actuate
                config.controller.timeouts.record = try reader.milliseconds("record_ms", minimum: 1) ?? config.controller.timeouts.record
            case "retry":
                config.controller.retry.maxAttempts = try reader.int("max_attempts", range: 0...1000) ?? config.controller.retry.maxAttempts
                config.controller.retry.initialBackoff = try reader.milliseconds("initial_backoff_ms") ?? config.controller.retry.initialBackoff
                config.controller.retry.maxBackoff = try reader.milliseconds("max_backoff_ms") ?? config.controller.retry.maxBackoff
                config.controller.retry.multiplier = try reader.double("multiplier", range: 1...10) ?? config.controller.retry.multiplier
            case "flap":
                config.controller.flap.homeDegrees = try reader.double("home_deg", range: 0...180) ?? config.controller.flap.homeDegrees
                if let angles = try reader.angles("angles") { config.controller.flap.angles = angles }
                config.flapAnglesFromConfig = true
            case "storage":
                config.storage.dataDirectory = try reader.string("data_dir")
                config.storage.outboxMaxMegabytes = try reader.int("outbox_max_mb", range: 1...65536) ?? config.storage.outboxMaxMegabytes
            case "simulation":
                config.simulation.images = try reader.string("images")
                config.simulation.rate = try reader.double("rate", range: 0.001...1000) ?? config.simulation.rate
                config.simulation.script = try reader.string("script")
            case "fill":
                config.controller.fill.capacity = try reader.int("capacity", range: 1...1_000_000)
                if let capacities = try reader.capacities("capacities") { config.controller.fill.capacities = capacities }
                config.controller.fill.nearlyFull = try reader.double("nearly_full", range: 0...1) ?? config.controller.fill.nearlyFull
                config.controller.fill.full = try reader.double("full", range: 0...1) ?? config.controller.fill.full
                config.controller.fill.rearmMargin = try reader.double("rearm_margin", range: 0...1) ?? config.controller.fill.rearmMargin
                config.controller.fill.emptiedDrop = try reader.double("emptied_drop", range: 0...1) ?? config.controller.fill.emptiedDrop
                if let policy = try reader.string("policy", oneOf: Set(FillConfig.FullPolicy.allCases.map(\.rawValue))) {
                    config.controller.fill.policy = FillConfig.FullPolicy(rawValue: policy)!
                }
                guard config.controller.fill.nearlyFull <= config.controller.fill.full else {
                    throw reader.problem("nearly_full", "(\(config.controller.fill.nearlyFull)) must not be above fill.full (\(config.controller.fill.full))")
                }
            default:
                break
            }
        }
        return config
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
                throw AppError("\(file):\(index + 1): a [table] name must start with a letter, digit, '_', '-' or a quote")
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
                throw AppError("\(file):\(line): arrays are not used by any SmartBin key")
            default:
                i += 1
            }
            atLineStart = false
        }
    }

    /// Typed access to one section's values, with errors naming file, key and line.
    struct Reader {
        let text: String
        let file: String
        var section = ""
        var values = TOMLTable()

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

        func problem(_ key: String, _ message: String) -> AppError {
            AppError("\(file):\(line(of: key, in: section)): \(section).\(key) \(message)")
        }

        func string(_ key: String, oneOf allowed: Set<String>? = nil) throws -> String? {
            guard let value = values[key] else { return nil }
            guard let string = value.string else { throw problem(key, "must be a string, not \(value.type)") }
            if let allowed, !allowed.contains(string) {
                throw problem(key, "is '\(string)'; expected one of \(allowed.sorted().joined(separator: ", "))")
            }
            return string
        }

        func int(_ key: String, range: ClosedRange<Int>) throws -> Int? {
            guard let value = values[key] else { return nil }
            guard let int = value.int else { throw problem(key, "must be an integer, not \(value.type)") }
            guard range.contains(int) else { throw problem(key, "is \(int); expected \(range.lowerBound)...\(range.upperBound)") }
            return int
        }

        func double(_ key: String, range: ClosedRange<Double>) throws -> Double? {
            guard let value = values[key] else { return nil }
            guard let number = value.double ?? value.int.map(Double.init) else {
                throw problem(key, "must be a number, not \(value.type)")
            }
            guard range.contains(number) else { throw problem(key, "is \(number); expected \(range.lowerBound)...\(range.upperBound)") }
            return number
        }

        func bool(_ key: String) throws -> Bool? {
            guard let value = values[key] else { return nil }
            guard let bool = value.bool else { throw problem(key, "must be true or false, not \(value.type)") }
            return bool
        }

        func milliseconds(_ key: String, minimum: Int = 0) throws -> Duration? {
            try int(key, range: minimum...86_400_000).map { .milliseconds($0) }
        }

        func capacities(_ key: String) throws -> [String: Int]? {
            guard let value = values[key] else { return nil }
            guard let table = value.table else { throw problem(key, "must be a table of compartment = items") }
            var capacities: [String: Int] = [:]
            for name in table.keys {
                guard let items = table[name]?.int, items >= 1 else {
                    throw problem(key, "entry '\(name)' must be a whole number of items, at least 1")
                }
                capacities[name] = items
            }
            return capacities
        }

        func angles(_ key: String) throws -> [String: Double]? {
            guard let value = values[key] else { return nil }
            guard let table = value.table else { throw problem(key, "must be a table of compartment = degrees") }
            var angles: [String: Double] = [:]
            for name in table.keys {
                guard let degrees = table[name]?.double ?? table[name]?.int.map(Double.init), (0...180).contains(degrees) else {
                    throw problem(key, "entry '\(name)' must be an angle in degrees, 0...180")
                }
                angles[name] = degrees
            }
            return angles
        }
    }
}
