/// A parsed board-profile file: a strict TOML subset (sections, `key = value`, strings, numbers,
/// booleans, one-line string arrays, `#` comments), with the line of every key for errors (pure).
struct ProfileDocument {
    enum Value: Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case strings([String])
    }

    let file: String
    private(set) var entries: [String: (value: Value, line: Int)] = [:]
    private var used: Set<String> = []

    /// - Throws: `HardwareError.profile` as `file:line: message`.
    init(text: String, file: String) throws(HardwareError) {
        self.file = file
        var section = ""
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = Self.stripComment(String(raw)).trimmed
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else { throw Self.error(file, number, "malformed section header '\(line)'") }
                section = String(line.dropFirst().dropLast()).trimmed
                guard section.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }) else {
                    throw Self.error(file, number, "bad section name '\(section)'")
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw Self.error(file, number, "expected 'key = value', got '\(line)'")
            }
            let key = String(line[..<equals]).trimmed
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw Self.error(file, number, "bad key '\(key)'")
            }
            let fullKey = section.isEmpty ? key : "\(section).\(key)"
            guard entries[fullKey] == nil else {
                throw Self.error(file, number, "duplicate key '\(fullKey)' (first on line \(entries[fullKey]!.line))")
            }
            let value = try Self.value(String(line[line.index(after: equals)...]).trimmed, file, number, fullKey)
            entries[fullKey] = (value, number)
        }
    }

    static func error(_ file: String, _ line: Int, _ message: String) -> HardwareError {
        HardwareError(.profile, "\(file):\(line): \(message)")
    }

    func error(key: String, _ message: String) -> HardwareError {
        if let line = entries[key]?.line { return Self.error(file, line, "\(key): \(message)") }
        return HardwareError(.profile, "\(file): \(key): \(message)")
    }

    mutating func string(_ key: String) throws(HardwareError) -> String? {
        guard let entry = take(key) else { return nil }
        guard case .string(let text) = entry else { throw error(key: key, "expected a quoted string") }
        return text
    }

    mutating func requiredString(_ key: String) throws(HardwareError) -> String {
        guard let value = try string(key) else { throw error(key: key, "missing (required)") }
        return value
    }

    mutating func number(_ key: String) throws(HardwareError) -> Double? {
        guard let entry = take(key) else { return nil }
        guard case .number(let value) = entry else { throw error(key: key, "expected a number") }
        return value
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws(HardwareError) -> Int? {
        guard let value = try number(key) else { return nil }
        guard value == value.rounded(), let int = Int(exactly: value), range.contains(int) else {
            throw error(key: key, "expected an integer in \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
        return int
    }

    mutating func bool(_ key: String) throws(HardwareError) -> Bool? {
        guard let entry = take(key) else { return nil }
        guard case .bool(let value) = entry else { throw error(key: key, "expected true or false") }
        return value
    }

    mutating func strings(_ key: String) throws(HardwareError) -> [String]? {
        guard let entry = take(key) else { return nil }
        guard case .strings(let values) = entry else { throw error(key: key, "expected an array of strings") }
        return values
    }

    /// Keys in `section` (one level), e.g. the compartment names under `servo.angles`.
    func keys(in section: String) -> [String] {
        entries.keys.filter { $0.hasPrefix(section + ".") && !$0.dropFirst(section.count + 1).contains(".") }
            .map { String($0.dropFirst(section.count + 1)) }.sorted()
    }

    /// The names of the tables one level under `section`, e.g. the compartments of
    /// `[fill.sensors.other]` and `[fill.sensors.paper]` under `fill.sensors` (sorted). A key
    /// directly in `section` is not a table (and stays unread, so it is reported as unknown).
    func tables(under section: String) -> [String] {
        let prefix = section + "."
        var names: Set<String> = []
        for key in entries.keys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            if let dot = rest.firstIndex(of: ".") { names.insert(String(rest[..<dot])) }
        }
        return names.sorted()
    }

    /// An error at the first line of table `section` (its first key), naming the file and line.
    func error(table section: String, _ message: String) -> HardwareError {
        let first = entries.filter { $0.key.hasPrefix(section + ".") }.min { $0.value.line < $1.value.line }
        guard let line = first?.value.line else { return HardwareError(.profile, "\(file): \(message)") }
        return Self.error(file, line, message)
    }

    /// - Throws: for the first key (by line) that nothing read: a typo or an unsupported setting.
    func checkAllUsed() throws(HardwareError) {
        if let (key, entry) = entries.filter({ !used.contains($0.key) }).min(by: { $0.value.line < $1.value.line }) {
            throw Self.error(file, entry.line, "unknown key '\(key)'")
        }
    }

    private mutating func take(_ key: String) -> Value? {
        used.insert(key)
        return entries[key]?.value
    }

    private static func value(_ text: String, _ file: String, _ line: Int, _ key: String) throws(HardwareError) -> Value {
        if text.isEmpty { throw error(file, line, "\(key): missing value") }
        if text.hasPrefix("\"") { return .string(try quoted(text, file, line, key)) }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if text.hasPrefix("[") {
            guard text.hasSuffix("]") else { throw error(file, line, "\(key): arrays must close on the same line") }
            let inner = String(text.dropFirst().dropLast()).trimmed
            if inner.isEmpty { return .strings([]) }
            var items: [String] = []
            for item in splitArray(inner) where !item.trimmed.isEmpty {
                items.append(try quoted(item.trimmed, file, line, key))
            }
            return .strings(items)
        }
        if let number = Double(text.replacingUnderscores) { return .number(number) }
        throw error(file, line, "\(key): cannot read value '\(text)' (strings need double quotes)")
    }

    private static func quoted(_ text: String, _ file: String, _ line: Int, _ key: String) throws(HardwareError) -> String {
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else {
            throw error(file, line, "\(key): unterminated string \(text)")
        }
        let body = text.dropFirst().dropLast()
        guard !body.contains("\"") && !body.contains("\\") else {
            throw error(file, line, "\(key): quotes and escapes inside strings are not supported")
        }
        return String(body)
    }

    private static func splitArray(_ text: String) -> [String] {
        var items: [String] = [], current = "", inString = false
        for character in text {
            if character == "\"" { inString.toggle() }
            if character == "," && !inString { items.append(current); current = "" } else { current.append(character) }
        }
        items.append(current)
        return items
    }

    private static func stripComment(_ line: String) -> String {
        var inString = false
        for (offset, character) in line.enumerated() {
            if character == "\"" { inString.toggle() }
            if character == "#" && !inString { return String(line.prefix(offset)) }
        }
        return line
    }
}

extension String {
    var trimmed: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }

    fileprivate var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
