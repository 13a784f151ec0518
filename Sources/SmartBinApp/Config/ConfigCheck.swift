import Foundation
import Hardware

/// `smartbin config check FILE`: the loader's strict parse, then what the loader cannot know —
/// that the files the config names exist, are readable and are not too open.
public enum ConfigCheck {
    /// One problem, located at the key's line.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public enum Severity: String, Sendable { case error, warning }
        public var severity: Severity
        public var file: String
        /// 1-based line of the key (0 when the key is not in the file, e.g. a default).
        public var line: Int
        /// `section.key`, `[section]` for an unknown section, or empty for a syntax error.
        public var key: String
        public var message: String

        /// `file:line: severity: key: message`.
        public var description: String {
            let place = line > 0 ? "\(file):\(line)" : file
            return key.isEmpty ? "\(place): \(severity.rawValue): \(message)" : "\(place): \(severity.rawValue): \(key): \(message)"
        }
    }

    /// Checks the config at `path`.
    /// - Parameter resolveBoard: finds a board profile by name (throws when there is none).
    /// - Returns: the findings; no `.error` finding means the config is usable.
    public static func check(path: String, resolveBoard: (String) throws -> BoardProfile = { try HardwareBin.profile(named: $0) }) -> [Finding] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            return [Finding(severity: .error, file: path, line: 0, key: "", message: "cannot read config file (\(error.localizedDescription))")]
        }
        // Every schema problem (unknown key, wrong type, out of range), each at its line.
        let (parsed, problems) = ConfigLoader.analyse(text, file: path)
        let schemaFindings = problems.map { Finding(severity: .error, file: $0.file, line: $0.line, key: $0.key, message: $0.message) }
        // Not TOML (or not safe to parse): nothing more to check.
        guard let config = parsed else { return schemaFindings }
        // The checks below see a bad value as unset; a key already reported is not reported again.
        let reported = Set(problems.map(\.key))
        let findings = schemaFindings + fileFindings(config, text: text, path: path, resolveBoard: resolveBoard).filter { !reported.contains($0.key) }
        // In file order (stable: findings on one line keep theirs).
        return findings.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
    }

    /// What the loader cannot know: the board profile, and the files the config names.
    private static func fileFindings(_ config: SmartBinConfig, text: String, path: String,
                                     resolveBoard: (String) throws -> BoardProfile) -> [Finding] {
        let reader = ConfigLoader.Reader(text: text, file: path)
        var findings: [Finding] = []
        func add(_ severity: Finding.Severity, _ section: String, _ key: String, _ message: String) {
            findings.append(Finding(severity: severity, file: path, line: reader.line(of: key, in: section),
                                    key: section + "." + key, message: message))
        }
        // Like `run`, relative paths resolve against the working directory (`/` under systemd).
        func resolved(_ file: String) -> String { file }
        func requireFile(_ section: String, _ key: String, _ value: String?, _ what: String) {
            guard let value else { return }
            if !value.hasPrefix("/") {
                add(.warning, section, key, "'\(value)' is relative: it resolves against the working directory (/ under systemd)")
            }
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: resolved(value), isDirectory: &isDirectory) || isDirectory.boolValue {
                add(.error, section, key, "\(what) '\(value)' does not exist or is not a file")
            } else if !FileManager.default.isReadableFile(atPath: resolved(value)) {
                add(.error, section, key, "\(what) '\(value)' is not readable")
            }
        }

        do {
            let profile = try resolveBoard(config.bin.board)
            // With [flap] in the config, its compartments replace the profile's.
            if config.flapAnglesFromConfig {
                for problem in HardwareBin.fillWiringProblems(profile, compartments: config.controller.flap.angles.keys) {
                    add(.error, "flap", "angles", problem)
                }
            }
        } catch {
            add(.error, "bin", "board", "\(error)")
        }
        if config.mqtt.homeAssistantDiscovery, config.controller.fill.capacity == nil, config.controller.fill.capacities.isEmpty,
           let profile = try? resolveBoard(config.bin.board), profile.fill.sensors.isEmpty {
            add(.warning, "mqtt", "home_assistant_discovery", "no compartment has a fill estimate (no fill.capacity, no fill sensor in board profile '\(profile.name)'): Home Assistant gets no sensors")
        }

        let dataDirectory = config.storage.dataDirectory ?? "/var/lib/smartbin"
        if let model = config.model.path {
            requireFile("model", "path", model, "model file")
        } else if let installed = ModelUpdater.installedModel(modelsDirectory: dataDirectory + "/models") {
            _ = installed  // an update_model install is what `run` loads
        } else {
            add(.error, "model", "path", "not set, and no model was installed into \(dataDirectory)/models by update_model; `run` needs one")
        }
        requireFile("model", "labels", config.model.labels, "labels file")

        if let passwordFile = config.mqtt.passwordFile {
            requireFile("mqtt", "password_file", passwordFile, "password file")
            if let mode = (try? FileManager.default.attributesOfItem(atPath: resolved(passwordFile)))?[.posixPermissions] as? Int,
               mode & 0o077 != 0 {
                add(.error, "mqtt", "password_file", "'\(passwordFile)' has mode \(String(format: "%04o", mode)); group or others can read it: chmod 600 (owner: the service user)")
            }
            if config.mqtt.username == nil {
                add(.warning, "mqtt", "password_file", "set without mqtt.username; the password is not sent without a username")
            }
        }
        for (key, value, what) in [("ca_file", config.mqtt.caFile, "CA certificate"), ("cert_file", config.mqtt.certFile, "client certificate"),
                                   ("key_file", config.mqtt.keyFile, "client key")] {
            requireFile("mqtt", key, value, what)
            if value != nil && !config.mqtt.tls {
                add(.warning, "mqtt", key, "is set but mqtt.tls is false: it is not used")
            }
        }
        if config.mqtt.tls, (config.mqtt.certFile == nil) != (config.mqtt.keyFile == nil) {
            add(.error, "mqtt", config.mqtt.certFile == nil ? "key_file" : "cert_file", "cert_file and key_file go together (client certificate authentication)")
        }
        if let keyFile = config.mqtt.keyFile,
           let mode = (try? FileManager.default.attributesOfItem(atPath: resolved(keyFile)))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            add(.warning, "mqtt", "key_file", "'\(keyFile)' has mode \(String(format: "%04o", mode)); chmod 600")
        }
        if config.storage.dataDirectory != nil {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: dataDirectory, isDirectory: &isDirectory) || !isDirectory.boolValue {
                add(.warning, "storage", "data_dir", "'\(dataDirectory)' does not exist yet (`run` creates it if it may)")
            }
        }
        if let images = config.simulation.images {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: resolved(images), isDirectory: &isDirectory) || !isDirectory.boolValue {
                add(.error, "simulation", "images", "'\(images)' is not a folder")
            }
        }
        requireFile("simulation", "script", config.simulation.script, "script")
        return findings
    }
}
