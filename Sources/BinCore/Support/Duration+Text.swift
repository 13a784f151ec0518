extension Duration {
    /// The duration in (fractional) milliseconds.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// Parses `250ms`, `2s`, `1.5s`, `100us` or `3m`; nil when the text is not such a duration.
    public init?(parsing text: some StringProtocol) {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("s", 1), ("m", 60)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard !number.isEmpty, let value = Double(number), value >= 0, value.isFinite else {
                return nil
            }
            self = .nanoseconds(Int64((value * scale * 1e9).rounded()))
            return
        }
        return nil
    }

    /// A short human form for logs: `250ms`, `1.5s`.
    public var shortDescription: String {
        let ms = milliseconds
        if ms < 1000 {
            return ms == ms.rounded() ? "\(Int(ms))ms" : "\(ms)ms"
        }
        let s = ms / 1000
        return s == s.rounded() ? "\(Int(s))s" : "\(s)s"
    }
}
