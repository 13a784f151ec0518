/// A compact JSON writer for the API responses, with `raw` to embed a document already in JSON
/// (a stored event or retained state exactly as the bin published it).
struct JSONText {
    private(set) var text = ""
    private var needsComma: [Bool] = []
    private var pendingKey = false

    mutating func beginObject() { value(); text += "{"; needsComma.append(false) }
    mutating func endObject() { text += "}"; needsComma.removeLast() }
    mutating func beginArray() { value(); text += "["; needsComma.append(false) }
    mutating func endArray() { text += "]"; needsComma.removeLast() }

    mutating func key(_ name: String) {
        separator()
        Self.appendQuoted(name, to: &text)
        text += ":"
        pendingKey = true
    }

    mutating func string(_ value: String?) {
        self.value()
        if let value { Self.appendQuoted(value, to: &text) } else { text += "null" }
    }

    mutating func int(_ number: Int) { value(); text += String(number) }
    mutating func bool(_ flag: Bool) { value(); text += flag ? "true" : "false" }
    mutating func null() { value(); text += "null" }

    /// Integral values print as integers, others in Swift's shortest round-trip form; NaN and
    /// infinities become `null`.
    mutating func number(_ number: Double) {
        value()
        if !number.isFinite { text += "null" }
        else if number == number.rounded(), abs(number) < 1e15 { text += String(Int64(number)) }
        else { text += "\(number)" }
    }

    /// Embeds `json` verbatim (the caller guarantees it is one valid JSON value).
    mutating func raw(_ json: String) { value(); text += json }

    private mutating func value() {
        if pendingKey { pendingKey = false; return }
        separator()
    }

    private mutating func separator() {
        guard !needsComma.isEmpty else { return }
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    /// Appends `value` as a JSON string (quotes, backslashes and control characters escaped;
    /// `<` escaped too so the text is safe inside an HTML `<script>`).
    static func appendQuoted(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "<": text += "\\u003c"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    static func quoted(_ value: String) -> String {
        var text = ""
        appendQuoted(value, to: &text)
        return text
    }
}
