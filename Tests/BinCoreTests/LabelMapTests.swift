import BinCore
import Foundation
import Testing

@Suite struct LabelMapTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func load(_ name: String) throws -> LabelMap {
        let text = try String(contentsOf: Self.repository.appendingPathComponent("maps/\(name)"), encoding: .utf8)
        return try LabelMap.parse(text, file: "maps/\(name)")
    }

    @Test func trashnetMapHasSixClassesInOrder() throws {
        let map = try load("trashnet.tsv")
        #expect(map.labels == ["cardboard", "glass", "metal", "paper", "plastic", "trash"])
        #expect(map.entries.map(\.bin) == ["recyclable", "recyclable", "recyclable", "recyclable", "recyclable", "other"])
    }

    @Test func garbageClassifyMapMatchesTheSharedRuleFile() throws {
        let map = try load("garbage_classify.tsv")
        #expect(map.count == 40)
        #expect(Set(map.bins) == ["recyclable", "kitchen", "hazardous", "other"])
        let ruleFile = "/work/shared/data/garbage_classify/garbage_classify_rule.json"
        guard let data = FileManager.default.contents(atPath: ruleFile) else { return } // not on this machine
        let rule = try JSONDecoder().decode([String: String].self, from: data)
        let bins = ["可回收物": "recyclable", "厨余垃圾": "kitchen", "有害垃圾": "hazardous", "其他垃圾": "other"]
        #expect(rule.count == map.count)
        for entry in map.entries {
            let parts = try #require(rule[String(entry.index)]).split(separator: "/", maxSplits: 1).map(String.init)
            #expect(entry.label == parts[1], "class \(entry.index)")
            #expect(entry.bin == bins[parts[0]], "class \(entry.index)")
            #expect(!entry.english.isEmpty && entry.english != entry.label)
        }
    }

    @Test func wrongFieldCountNamesFileAndLine() {
        #expect(throws: BinCoreError(.mapSyntax, "m.tsv:3: expected 4 TAB-separated fields (index, label, bin, english), found 3")) {
            try LabelMap.parse("# header\n0\ta\tx\ta\n1\tb\ty\n", file: "m.tsv")
        }
    }

    @Test func outOfOrderIndexIsRejected() {
        #expect(throws: BinCoreError(.mapContent, "m.tsv:2: index 2 out of order; expected 1")) {
            try LabelMap.parse("0\ta\tx\ta\n2\tb\ty\tb\n", file: "m.tsv")
        }
    }

    @Test func badBinNameAndDuplicateLabelAreRejected() {
        #expect(throws: BinCoreError.self) { try LabelMap.parse("0\ta\tRecyclable\ta\n", file: "m") }
        #expect(throws: BinCoreError(.mapContent, "m:2: label 'a' repeats the one on line 1")) {
            try LabelMap.parse("0\ta\tx\ta\n1\ta\tx\ta\n", file: "m")
        }
    }

    @Test func dashMeansNoCompartment() throws {
        let map = try LabelMap.parse("0\tceramic\t-\tceramic\r\n", file: "m")
        #expect(map.entry(at: 0)?.bin == nil)
    }

    @Test func labelsFileHasOneLabelPerLine() throws {
        #expect(try LabelsFile.parse("cat\ndog \r\nhot dog\n\n", file: "l.txt") == ["cat", "dog", "hot dog"])
        #expect(throws: BinCoreError(.mapSyntax, "l.txt:2: empty line among labels (would shift every later class index)")) {
            try LabelsFile.parse("cat\n\ndog\n", file: "l.txt")
        }
        #expect(throws: BinCoreError.self) { try LabelsFile.parse("\n", file: "l.txt") }
        #expect(LabelMap(labels: ["a", "b"]).entry(forLabel: "b")?.index == 1)
    }
}
