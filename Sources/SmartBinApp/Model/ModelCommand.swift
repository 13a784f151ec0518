import Foundation

/// A model command received over MQTT (`…/cmd/update_model`, `…/cmd/rollback_model`), parsed
/// and schema-checked: unknown keys, wrong types and out-of-range values are refused with a
/// reason naming the key.
public enum ModelCommand: Sendable, Equatable {
    /// A model file already copied into the models folder: `{"sha256": "…", "path": "…"}`.
    case install(path: String, sha256: String)
    /// One piece of a model sent over MQTT: `{"transfer": id, "chunk": n, "of": N, "data": base64, "sha256": "…"}`,
    /// `chunk` counting from 0; `sha256` is the whole file's.
    case chunk(transfer: String, index: Int, count: Int, data: [UInt8], sha256: String)
    /// Back to the previous model: payload `{}` or empty.
    case rollback

    /// Bounds on what a command may carry.
    public struct Limits: Sendable {
        /// Largest MQTT payload accepted (bytes), checked before parsing.
        public var payloadBytes = 1 << 20
        /// Largest model file accepted (bytes): a ResNet50 in fp32 is about 100 MB.
        public var modelBytes = 512 << 20
        /// Most chunks one transfer may have.
        public var chunks = 8192

        public init() {}
    }

    /// Parses the payload of command `name` (`update_model` or `rollback_model`).
    /// - Throws: `AppError` with the reason the command is refused.
    public static func parse(name: String, payload: [UInt8], limits: Limits = Limits()) throws -> ModelCommand {
        guard payload.count <= limits.payloadBytes else {
            throw AppError("payload is \(payload.count) bytes; the limit is \(limits.payloadBytes) (send the model in chunks)")
        }
        if name == "rollback_model" {
            if payload.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .rollback }
            let object = try jsonObject(payload)
            guard object.isEmpty else {
                throw AppError("rollback_model takes no keys; got \(object.keys.sorted().joined(separator: ", "))")
            }
            return .rollback
        }
        guard name == "update_model" else { throw AppError("unknown model command '\(name)'") }
        let object = try jsonObject(payload)
        let keys = Set(object.keys)
        let sha = try hex(object["sha256"])
        if keys.contains("transfer") || keys.contains("chunk") {
            let allowed: Set<String> = ["transfer", "chunk", "of", "data", "sha256"]
            try only(keys, allowed: allowed, required: allowed)
            guard let transfer = object["transfer"] as? String, !transfer.isEmpty, transfer.utf8.count <= 64,
                  transfer.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw AppError("transfer must be 1…64 characters of A-Z a-z 0-9 - _")
            }
            let count = try integer(object["of"], "of", 1...limits.chunks)
            let index = try integer(object["chunk"], "chunk", 0...(count - 1))
            guard let text = object["data"] as? String else { throw AppError("data must be a base64 string") }
            guard let data = Data(base64Encoded: text) else { throw AppError("data is not valid base64") }
            return .chunk(transfer: transfer, index: index, count: count, data: Array(data), sha256: sha)
        }
        try only(keys, allowed: ["sha256", "path"], required: ["sha256", "path"])
        guard let path = object["path"] as? String, path.hasPrefix("/"), path.utf8.count <= 4096 else {
            throw AppError("path must be an absolute file path")
        }
        return .install(path: path, sha256: sha)
    }

    private static func jsonObject(_ payload: [UInt8]) throws -> [String: Any] {
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: Data(payload)) } catch {
            throw AppError("payload is not JSON")
        }
        guard let object = value as? [String: Any] else { throw AppError("payload must be a JSON object") }
        return object
    }

    private static func only(_ keys: Set<String>, allowed: Set<String>, required: Set<String>) throws {
        if let unknown = keys.subtracting(allowed).sorted().first {
            throw AppError("unknown key '\(unknown)' (expected \(allowed.sorted().joined(separator: ", ")))")
        }
        if let missing = required.subtracting(keys).sorted().first {
            throw AppError("missing key '\(missing)'")
        }
    }

    private static func hex(_ value: Any?) throws -> String {
        guard let text = value as? String, text.utf8.count == 64, text.allSatisfy(\.isHexDigit) else {
            throw AppError("sha256 must be 64 hexadecimal digits")
        }
        return text.lowercased()
    }

    private static func integer(_ value: Any?, _ key: String, _ range: ClosedRange<Int>) throws -> Int {
        // JSON true/false also bridge to NSNumber; refuse them.
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
              let int = Int(exactly: number.doubleValue), range.contains(int) else {
            throw AppError("\(key) must be an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return int
    }
}
