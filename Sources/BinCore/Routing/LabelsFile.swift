/// The plain labels file of `--labels L.txt`: one label per line, line `n` (from 0) is class `n`.
public enum LabelsFile {
    /// Parses the labels; trailing whitespace and a final newline are ignored.
    /// - Throws: `BinCoreError.mapSyntax` naming `file:line` for an empty line among labels, and
    ///   when the file holds no label at all.
    public static func parse(_ text: String, file: String) throws(BinCoreError) -> [String] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { line in
            var s = Substring(line)
            while let last = s.last, last == "\r" || last == " " || last == "\t" { s = s.dropLast() }
            return String(s)
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard !lines.isEmpty else { throw .at(.mapSyntax, file: file, line: 1, "no labels") }
        if let blank = lines.firstIndex(where: \.isEmpty) {
            throw .at(.mapSyntax, file: file, line: blank + 1,
                      "empty line among labels (would shift every later class index)")
        }
        return lines
    }
}
