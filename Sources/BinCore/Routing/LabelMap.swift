/// The model's classes in output order, each with its label, compartment and English name.
///
/// Map files (`maps/*.tsv`) are plain text, one class per line, four fields separated by one TAB:
/// ```
/// # index  label  bin  english
/// 0	cardboard	recyclable	cardboard
/// ```
/// `index` runs 0, 1, 2 … in order with no gaps; `label` is the model's class name (kept verbatim,
/// e.g. the Chinese item name of garbage_classify); `bin` is a compartment name of lower-case
/// letters, digits, `_` or `-`, or `-` for "no compartment" (such a class goes to the fallback bin);
/// `english` is a display name. Lines starting with `#` and blank lines are ignored. A plain format
/// instead of TOML keeps BinCore free of a parser dependency; errors name `file:line`.
public struct LabelMap: Sendable, Hashable {
    /// One class of the model.
    public struct Entry: Sendable, Hashable {
        public var index: Int
        public var label: String
        /// Compartment name, or nil when the class has no compartment (routed to the fallback).
        public var bin: String?
        public var english: String

        public init(index: Int, label: String, bin: String?, english: String) {
            self.index = index
            self.label = label
            self.bin = bin
            self.english = english
        }
    }

    public private(set) var entries: [Entry]
    private var indexByLabel: [String: Int]

    /// Builds a map from entries already in index order.
    /// - Throws: `BinCoreError.mapContent` when indexes are not 0..<n in order.
    public init(entries: [Entry]) throws(BinCoreError) {
        var byLabel: [String: Int] = [:]
        for (position, entry) in entries.enumerated() {
            guard entry.index == position else {
                throw BinCoreError(.mapContent, "class index \(entry.index) at position \(position); indexes must run 0, 1, 2 … in order")
            }
            if byLabel[entry.label] == nil { byLabel[entry.label] = entry.index }
        }
        self.entries = entries
        self.indexByLabel = byLabel
    }

    /// A map from a plain labels list (`--labels L.txt`): every class without a compartment.
    public init(labels: [String]) {
        // Indexes are positions by construction, so this cannot throw.
        let entries = labels.enumerated().map { Entry(index: $0.offset, label: $0.element, bin: nil, english: $0.element) }
        var byLabel: [String: Int] = [:]
        for entry in entries where byLabel[entry.label] == nil { byLabel[entry.label] = entry.index }
        self.entries = entries
        self.indexByLabel = byLabel
    }

    public var count: Int { entries.count }
    public var labels: [String] { entries.map(\.label) }
    /// The distinct compartments named by the map, sorted.
    public var bins: [String] { Array(Set(entries.compactMap(\.bin))).sorted() }

    /// The entry for a class index, or nil when the index is outside the map.
    public func entry(at index: Int) -> Entry? {
        entries.indices.contains(index) ? entries[index] : nil
    }

    /// The entry with this label (the first, if a label repeats), or nil.
    public func entry(forLabel label: String) -> Entry? {
        indexByLabel[label].map { entries[$0] }
    }

    /// Parses a map file's text.
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - file: the name used in error messages.
    /// - Throws: `BinCoreError` with code `mapSyntax` or `mapContent` and `file:line` in the message.
    public static func parse(_ text: String, file: String) throws(BinCoreError) -> LabelMap {
        var entries: [Entry] = []
        var seenLabels: [String: Int] = [:]
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let lineNumber = offset + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.hasPrefix("#") { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 4 else {
                throw .at(.mapSyntax, file: file, line: lineNumber,
                          "expected 4 TAB-separated fields (index, label, bin, english), found \(fields.count)")
            }
            let trimmed = fields.map { $0.trimmingSpaces() }
            guard let index = Int(trimmed[0]) else {
                throw .at(.mapSyntax, file: file, line: lineNumber, "index '\(trimmed[0])' is not an integer")
            }
            guard index == entries.count else {
                throw .at(.mapContent, file: file, line: lineNumber,
                          "index \(index) out of order; expected \(entries.count)")
            }
            let label = trimmed[1]
            guard !label.isEmpty else {
                throw .at(.mapSyntax, file: file, line: lineNumber, "empty label")
            }
            if let first = seenLabels[label] {
                throw .at(.mapContent, file: file, line: lineNumber,
                          "label '\(label)' repeats the one on line \(first)")
            }
            seenLabels[label] = lineNumber
            let binField = trimmed[2]
            let bin: String?
            if binField == "-" {
                bin = nil
            } else {
                guard !binField.isEmpty, binField.allSatisfy(Self.isBinCharacter) else {
                    throw .at(.mapSyntax, file: file, line: lineNumber,
                              "bin '\(binField)' must be lower-case letters, digits, '_' or '-' (or '-' for none)")
                }
                bin = binField
            }
            let english = trimmed[3].isEmpty ? label : trimmed[3]
            entries.append(Entry(index: index, label: label, bin: bin, english: english))
        }
        guard !entries.isEmpty else {
            throw .at(.mapContent, file: file, line: 1, "no classes in map")
        }
        return try LabelMap(entries: entries)
    }

    private static func isBinCharacter(_ c: Character) -> Bool {
        c == "_" || c == "-" || ("a"..."z").contains(c) || ("0"..."9").contains(c)
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self[...]
        while let first = s.first, first == " " { s = s.dropFirst() }
        while let last = s.last, last == " " { s = s.dropLast() }
        return String(s)
    }
}
