/// A JSON value as a `cmd/` payload may hold it.
public enum CommandJSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([CommandJSON])
    case object([String: CommandJSON])

    /// The JSON type's name, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Largest nesting of arrays and objects accepted (commands are flat; this bounds recursion).
    public static let maxDepth = 8

    /// Parses strict JSON (RFC 8259: no comments, no trailing commas, no duplicate keys) from
    /// UTF-8 bytes. Never traps on any input: every problem is a `CommandError` naming the byte
    /// offset.
    /// - Throws: `CommandError` with `.malformed`.
    public static func parse(_ bytes: [UInt8]) throws(CommandError) -> CommandJSON {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.offset == bytes.count else { throw parser.fail("unexpected data after the JSON value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var offset = 0

        func fail(_ message: String) -> CommandError {
            CommandError(.malformed, "invalid JSON at byte \(offset): \(message)")
        }

        var peek: UInt8? { offset < bytes.count ? bytes[offset] : nil }

        mutating func skipSpace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { offset += 1 }
        }

        mutating func expect(_ literal: String, _ value: CommandJSON) throws(CommandError) -> CommandJSON {
            for byte in literal.utf8 {
                guard peek == byte else { throw fail("expected '\(literal)'") }
                offset += 1
            }
            return value
        }

        mutating func value(depth: Int) throws(CommandError) -> CommandJSON {
            guard let byte = peek else { throw fail("unexpected end of input") }
            switch byte {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw fail("unexpected character")
            }
        }

        mutating func object(depth: Int) throws(CommandError) -> CommandJSON {
            guard depth <= CommandJSON.maxDepth else { throw fail("nested deeper than \(CommandJSON.maxDepth) levels") }
            offset += 1
            var members: [String: CommandJSON] = [:]
            skipSpace()
            if peek == UInt8(ascii: "}") { offset += 1; return .object(members) }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let keyOffset = offset
                let key = try string()
                guard members[key] == nil else {
                    throw CommandError(.malformed, "invalid JSON at byte \(keyOffset): duplicate key '\(key)'")
                }
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw fail("expected ':'") }
                offset += 1
                skipSpace()
                members[key] = try value(depth: depth)
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): offset += 1
                case UInt8(ascii: "}"): offset += 1; return .object(members)
                default: throw fail("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws(CommandError) -> CommandJSON {
            guard depth <= CommandJSON.maxDepth else { throw fail("nested deeper than \(CommandJSON.maxDepth) levels") }
            offset += 1
            var elements: [CommandJSON] = []
            skipSpace()
            if peek == UInt8(ascii: "]") { offset += 1; return .array(elements) }
            while true {
                skipSpace()
                elements.append(try value(depth: depth))
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): offset += 1
                case UInt8(ascii: "]"): offset += 1; return .array(elements)
                default: throw fail("expected ',' or ']'")
                }
            }
        }

        mutating func hex4() throws(CommandError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = peek else { throw fail("unterminated \\u escape") }
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw fail("bad hex digit in \\u escape")
                }
                value = value << 4 | digit
                offset += 1
            }
            return value
        }

        mutating func string() throws(CommandError) -> String {
            offset += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var run: [UInt8] = []
            func flush(_ run: inout [UInt8], into scalars: inout String.UnicodeScalarView) {
                scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                run.removeAll(keepingCapacity: true)
            }
            while true {
                guard let byte = peek else { throw fail("unterminated string") }
                switch byte {
                case UInt8(ascii: "\""):
                    offset += 1
                    flush(&run, into: &scalars)
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    offset += 1
                    guard let escape = peek else { throw fail("unterminated escape") }
                    offset += 1
                    flush(&run, into: &scalars)
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800...0xDBFF).contains(code) {
                            guard peek == UInt8(ascii: "\\"), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "u") else {
                                throw fail("unpaired surrogate")
                            }
                            offset += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw fail("escape is not a Unicode scalar") }
                        scalars.append(scalar)
                    default:
                        throw fail("unknown escape")
                    }
                case 0x00..<0x20:
                    throw fail("control character in string")
                default:
                    run.append(byte)
                    offset += 1
                }
            }
        }

        mutating func number() throws(CommandError) -> Double {
            let start = offset
            if peek == UInt8(ascii: "-") { offset += 1 }
            func digits(_ parser: inout Parser) -> Int {
                var count = 0
                while let byte = parser.peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                    parser.offset += 1
                    count += 1
                }
                return count
            }
            if peek == UInt8(ascii: "0") {
                offset += 1
            } else if digits(&self) == 0 {
                throw fail("expected a digit")
            }
            if peek == UInt8(ascii: ".") {
                offset += 1
                guard digits(&self) > 0 else { throw fail("expected a digit after '.'") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                offset += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { offset += 1 }
                guard digits(&self) > 0 else { throw fail("expected a digit in the exponent") }
            }
            let text = String(decoding: bytes[start..<offset], as: UTF8.self)
            guard let value = Double(text), value.isFinite else {
                throw CommandError(.malformed, "invalid JSON at byte \(start): number '\(text.prefix(40))' out of range")
            }
            return value
        }
    }
}
