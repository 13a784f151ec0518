/// The keys a command's JSON object may carry, with their types and bounds. Anything else is
/// refused, so a typo in an operator's command is an error rather than silently ignored.
public struct CommandSchema: Sendable {
    public enum FieldType: Sendable {
        case bool
        /// A finite number within `range`.
        case number(ClosedRange<Double>)
        /// A string of at most `maxLength` UTF-8 bytes, optionally from a fixed set.
        case string(maxLength: Int, oneOf: Set<String>?)
    }

    public struct Field: Sendable {
        public var name: String
        public var type: FieldType
        public var required: Bool

        public init(_ name: String, _ type: FieldType, required: Bool = false) {
            self.name = name
            self.type = type
            self.required = required
        }
    }

    public var fields: [Field]

    /// Every command may carry `request_id` (echoed in the result, at most 64 bytes).
    public init(_ fields: [Field]) {
        self.fields = [Field("request_id", .string(maxLength: 64, oneOf: nil))] + fields
    }

    /// Checks `value` (the parsed payload) against the schema.
    /// - Throws: `CommandError` `.invalid` naming the key and what was expected.
    public func validate(_ value: CommandJSON) throws(CommandError) -> [String: CommandJSON] {
        guard case .object(let object) = value else {
            throw CommandError(.invalid, "payload must be a JSON object, not \(value.typeName)")
        }
        let known = Dictionary(fields.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for key in object.keys.sorted() where known[key] == nil {
            throw CommandError(.invalid, "unknown key '\(key.prefix(64))' (known: \(fields.map(\.name).sorted().joined(separator: ", ")))")
        }
        for field in fields {
            guard let member = object[field.name], member != .null else {
                if field.required { throw CommandError(.invalid, "missing required key '\(field.name)'") }
                continue
            }
            switch (field.type, member) {
            case (.bool, .bool):
                break
            case (.number(let range), .number(let number)):
                guard range.contains(number) else {
                    throw CommandError(.invalid, "'\(field.name)' is \(number); expected \(range.lowerBound)...\(range.upperBound)")
                }
            case (.string(let maxLength, let allowed), .string(let string)):
                guard string.utf8.count <= maxLength else {
                    throw CommandError(.invalid, "'\(field.name)' is longer than \(maxLength) bytes")
                }
                if let allowed, !allowed.contains(string) {
                    throw CommandError(.invalid, "'\(field.name)' must be one of \(allowed.sorted().joined(separator: ", "))")
                }
            default:
                throw CommandError(.invalid, "'\(field.name)' must be \(Self.describe(field.type)), not \(member.typeName)")
            }
        }
        return object
    }

    static func describe(_ type: FieldType) -> String {
        switch type {
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        }
    }
}
