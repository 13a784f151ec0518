/// Random (version 4) UUIDs in the canonical lower-case text form, without Foundation.
public enum UUIDv4 {
    /// Returns a new random UUID such as `1b4e28ba-2fa1-41d2-883f-0016d3cca427`.
    public static func random() -> String {
        var rng = SystemRandomNumberGenerator()
        return random(using: &rng)
    }

    /// Returns a UUID drawn from `generator` (seeded generators give repeatable ids in tests).
    public static func random(using generator: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in bytes.indices { bytes[i] = UInt8.random(in: .min ... .max, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40 // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80 // RFC 4122 variant
        let hex = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text.append("-") }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        return text
    }
}
