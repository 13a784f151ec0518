/// One validated command: its name and the members of its JSON object.
public struct CommandRequest: Sendable {
    /// Payloads larger than this are refused before parsing.
    public static let maxPayloadBytes = 4096

    public var name: String
    public var requestID: String?
    public var fields: [String: CommandJSON]

    public init(name: String, requestID: String? = nil, fields: [String: CommandJSON] = [:]) {
        self.name = name
        self.requestID = requestID
        self.fields = fields
    }

    /// Size check, strict JSON parse and schema check, in that order. An empty payload is `{}`.
    /// Never traps on any input (a fuzz target feeds it arbitrary bytes).
    /// - Throws: `CommandError` `.tooLarge`, `.malformed` or `.invalid`.
    public static func parse(name: String, payload: [UInt8], schema: CommandSchema) throws(CommandError) -> CommandRequest {
        guard payload.count <= maxPayloadBytes else {
            throw CommandError(.tooLarge, "payload of \(payload.count) bytes exceeds the \(maxPayloadBytes)-byte limit")
        }
        let trimmed = payload.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        let value = trimmed.isEmpty ? CommandJSON.object([:]) : try CommandJSON.parse(payload)
        let fields = try schema.validate(value)
        var requestID: String?
        if case .string(let id)? = fields["request_id"] { requestID = id }
        return CommandRequest(name: name, requestID: requestID, fields: fields)
    }

    public func bool(_ key: String) -> Bool? {
        if case .bool(let value)? = fields[key] { return value }
        return nil
    }

    public func number(_ key: String) -> Double? {
        if case .number(let value)? = fields[key] { return value }
        return nil
    }

    public func string(_ key: String) -> String? {
        if case .string(let value)? = fields[key] { return value }
        return nil
    }
}
