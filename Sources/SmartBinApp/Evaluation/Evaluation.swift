import Foundation

/// Accuracy of a classifier over a labelled image folder (one sub-folder per class).
public struct Evaluation: Sendable {
    /// Class names, in the model's output order.
    public let labels: [String]
    /// `confusion[truth][predicted]` counts.
    public private(set) var confusion: [[Int]]
    public private(set) var total = 0
    public private(set) var top1Correct = 0
    public private(set) var top5Correct = 0

    public init(labels: [String]) {
        self.labels = labels
        confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
    }

    /// Adds one image's result: its true class and the model's ranking (best first).
    public mutating func add(truth: Int, ranking: [Int]) {
        guard let predicted = ranking.first else { return }
        total += 1
        confusion[truth][predicted] += 1
        if predicted == truth { top1Correct += 1 }
        if ranking.prefix(5).contains(truth) { top5Correct += 1 }
    }

    public var top1Error: Double { total == 0 ? 0 : 1 - Double(top1Correct) / Double(total) }
    public var top5Error: Double { total == 0 ? 0 : 1 - Double(top5Correct) / Double(total) }

    /// Precision of class `c`: of the images predicted `c`, the share that were `c` (nil if none predicted).
    public func precision(_ c: Int) -> Double? {
        let predicted = confusion.reduce(0) { $0 + $1[c] }
        return predicted == 0 ? nil : Double(confusion[c][c]) / Double(predicted)
    }

    /// Recall of class `c`: of the images of `c`, the share predicted `c` (nil if there were none).
    public func recall(_ c: Int) -> Double? {
        let actual = confusion[c].reduce(0, +)
        return actual == 0 ? nil : Double(confusion[c][c]) / Double(actual)
    }

    /// The report as text: errors, per-class precision/recall and the confusion matrix.
    public var report: String {
        func percent(_ value: Double?) -> String { value.map { String(format: "%5.1f%%", $0 * 100) } ?? "    -" }
        var lines = [String(format: "%d images: top-1 error %.1f%%, top-5 error %.1f%%", total, top1Error * 100, top5Error * 100), ""]
        let width = max(8, labels.map(\.count).max() ?? 0)
        func pad(_ s: String) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
        lines.append("\(pad("class"))  precision  recall  images")
        for (c, label) in labels.enumerated() where confusion[c].reduce(0, +) > 0 || confusion.contains(where: { $0[c] > 0 }) {
            lines.append("\(pad(label))  \(percent(precision(c)))    \(percent(recall(c)))  \(confusion[c].reduce(0, +))")
        }
        let used = labels.indices.filter { c in confusion[c].reduce(0, +) > 0 || confusion.contains(where: { $0[c] > 0 }) }
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted)")
        func right(_ s: String) -> String { String(repeating: " ", count: max(0, 7 - s.count)) + s }
        lines.append(pad("") + used.map { right(String(labels[$0].prefix(6))) }.joined())
        for r in used {
            lines.append(pad(labels[r]) + used.map { String(format: " %6d", confusion[r][$0]) }.joined())
        }
        return lines.joined(separator: "\n")
    }

    /// The confusion matrix as an SVG heat map (rows: true class, columns: predicted).
    public var svg: String {
        let used = labels.indices.filter { c in confusion[c].reduce(0, +) > 0 || confusion.contains(where: { $0[c] > 0 }) }
        let cell = 44, margin = 120, size = margin + cell * used.count + 20
        let peak = max(1, confusion.flatMap { $0 }.max() ?? 1)
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(size)\" height=\"\(size + 30)\" font-family=\"sans-serif\" font-size=\"11\">",
                   "<text x=\"10\" y=\"18\" font-size=\"13\">Confusion matrix: \(total) images, top-1 error \(String(format: "%.1f", top1Error * 100))%</text>"]
        for (i, c) in used.enumerated() {
            let position = margin + i * cell + cell / 2
            svg.append("<text x=\"\(margin - 6)\" y=\"\(position + 30 + 4)\" text-anchor=\"end\">\(escape(labels[c]))</text>")
            svg.append("<text transform=\"translate(\(position),\(margin + 24)) rotate(-45)\">\(escape(labels[c]))</text>")
        }
        for (i, r) in used.enumerated() {
            for (j, c) in used.enumerated() {
                let value = confusion[r][c]
                let shade = 255 - Int(200 * Double(value) / Double(peak))
                let x = margin + j * cell, y = margin + 30 + i * cell
                svg.append("<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell - 2)\" height=\"\(cell - 2)\" fill=\"rgb(\(shade),\(shade),255)\"/>")
                svg.append("<text x=\"\(x + cell / 2 - 1)\" y=\"\(y + cell / 2 + 4)\" text-anchor=\"middle\">\(value)</text>")
            }
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }
}
