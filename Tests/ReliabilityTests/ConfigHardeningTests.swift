import SmartBinApp
import Testing

/// Table headers toml++ cannot survive are refused by `ConfigLoader` first, with file and line.
@Suite struct ConfigHardeningTests {
    @Test(arguments: ["[é]\n", "[timing]\nsettle_ms = 0\n[|iming]\n", "[\u{17}x]\n", "[[ \u{301}a]]\n", "\r\n[\u{30A}timing]\r\n", "[{a=1}]\n", "[\n", "x = 1\n[   \r\n", "[[[t]]]\n", "\u{FEFF}[\\\\x]\n"])
    func unsafeTableHeaderIsRefusedWithItsLine(text: String) throws {
        let error = #expect(throws: AppError.self) { try ConfigLoader.parse(text, file: "bin.toml") }
        #expect(error?.message.hasPrefix("bin.toml:") == true, "\(String(describing: error))")
        #expect(error?.message.contains("[table] name") == true, "\(String(describing: error))")
    }

    @Test func ordinaryHeadersStillParse() throws {
        let config = try ConfigLoader.parse("  [timing]\nsettle_ms = 5\n[\"flap\"]\nhome_deg = 3\n", file: "ok.toml")
        #expect(config.controller.timing.settle == .milliseconds(5))
        #expect(config.controller.flap.homeDegrees == 3)
    }
}

/// Arrays are refused before toml++ sees them (no key takes one; toml++ asserts on bad ones).
@Suite struct ConfigArrayTests {
    @Test(arguments: ["[bin]\nx = [1, 2, } 3} 3]\n", "[timing]\nsettle_ms = [\n1]\n"])
    func arraysAreRefusedWithTheirLine(text: String) throws {
        let error = #expect(throws: AppError.self) { try ConfigLoader.parse(text, file: "bin.toml") }
        #expect(error?.message.hasPrefix("bin.toml:2:") == true, "\(String(describing: error))")
    }

    @Test func bracketsInsideStringsAndCommentsAreFine() throws {
        let config = try ConfigLoader.parse("[bin] # [not an array]\nid = \"bin-[7]\" # x = [1]\nboard = '''[multi\n[line]'''\n", file: "ok.toml")
        #expect(config.bin.id == "bin-[7]")
    }
}
