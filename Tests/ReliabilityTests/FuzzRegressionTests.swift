import Foundation
import FuzzHarness
import Imaging
import Testing

/// Replays every file in `Fuzz/corpus/<target>/` (seeds and what `make fuzz` kept) and
/// `Fuzz/regressions/<target>/` (inputs that once crashed) through the fuzz targets' bodies: a
/// crash found by libFuzzer becomes a file here and stays fixed. Each target also gets a short
/// deterministic mutation run (1,500 bit flips, truncations, splices of the seeds each) so
/// `make test` exercises the parsers even where libFuzzer is not built.
@Suite struct FuzzRegressionTests {
    static let root = Reliability.packageRoot + "/Fuzz"

    static func files(_ folder: String) -> [String] {
        let dir = root + "/" + folder
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { dir + "/" + $0 }
    }

    @Test(arguments: FuzzHarness.targets.keys.sorted())
    func corpusAndRegressionsReplayWithoutCrashing(target: String) throws {
        let body = try #require(FuzzHarness.targets[target])
        let seeds = Self.files("corpus/" + target)
        let regressions = Self.files("regressions/" + target)
        #expect(!seeds.isEmpty, "no seed corpus for \(target)")
        for path in seeds + regressions {
            body(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        print("fuzz replay \(target): \(seeds.count) corpus files, \(regressions.count) regressions")
    }

    @Test(arguments: FuzzHarness.targets.keys.sorted())
    func shortDeterministicMutationRun(target: String) throws {
        let body = try #require(FuzzHarness.targets[target])
        let seeds = try Self.files("corpus/" + target).map { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) }
        var rng = ChaosRandom(seed: 0x5EED ^ UInt64(target.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        // SMARTBIN_FUZZ_DUMP=DIR keeps the input being tried in DIR/last-<target> (to catch a crash).
        let dump = ProcessInfo.processInfo.environment["SMARTBIN_FUZZ_DUMP"]
        let budget = ContinuousClock.now + .seconds(20)  // a bound, not the plan: 1,500 inputs take ~1-2 s
        var runs = 0
        while ContinuousClock.now < budget && runs < 1_500 {
            var input = seeds.isEmpty ? [] : seeds[Int.random(in: 0..<seeds.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<5, using: &rng) {
                case 0 where !input.isEmpty:
                    let i = Int.random(in: 0..<input.count, using: &rng)
                    input[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 1 where !input.isEmpty:
                    input = Array(input.prefix(Int.random(in: 0..<input.count, using: &rng)))
                case 2:
                    let i = Int.random(in: 0...input.count, using: &rng)
                    input.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: i)
                case 3 where !input.isEmpty:
                    let i = Int.random(in: 0..<input.count, using: &rng)
                    input[i] = [0x00, 0xFF, 0x7F, 0x80, 0x22, 0x5B, 0x7B][Int.random(in: 0..<7, using: &rng)]
                default:
                    if let other = seeds.randomElement(using: &rng), !other.isEmpty {
                        let cut = Int.random(in: 0..<other.count, using: &rng)
                        input = Array(input.prefix(input.count / 2)) + other[cut...]
                    }
                }
            }
            if let dump { _ = FileManager.default.createFile(atPath: dump + "/last-\(target)", contents: Data(input)) }
            body(input)
            runs += 1
        }
        print("fuzz mutation \(target): \(runs) inputs, no crash")
    }

    /// Replays one file: `SMARTBIN_FUZZ_REPLAY=<target>:<path> swift test --filter replayOneFile`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SMARTBIN_FUZZ_REPLAY"] != nil))
    func replayOneFile() throws {
        let spec = try #require(ProcessInfo.processInfo.environment["SMARTBIN_FUZZ_REPLAY"])
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        let body = try #require(FuzzHarness.targets[parts[0]])
        body(Array(try Data(contentsOf: URL(fileURLWithPath: parts[1]))))
        print("fuzz replay \(spec): no crash")
    }

    /// Writes the JPEG seeds (`SMARTBIN_WRITE_FUZZ_SEEDS=1 swift test --filter FuzzRegressionTests`):
    /// small RGB, grayscale and CMYK files from our own encoder.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SMARTBIN_WRITE_FUZZ_SEEDS"] != nil))
    func writeJPEGSeeds() throws {
        let dir = Self.root + "/corpus/jpeg"
        var rgb: [UInt8] = []
        for i in 0..<(16 * 12) {
            let x = UInt8(i % 16 * 16), y = UInt8(i / 16 * 20)
            rgb += [x, y, 128]
        }
        try Data(JPEG.encode(samples: rgb, width: 16, height: 12, layout: .rgb, quality: 80)).write(to: URL(fileURLWithPath: dir + "/rgb-16x12.jpg"))
        try Data(JPEG.encode(samples: [UInt8](repeating: 100, count: 64), width: 8, height: 8, layout: .grayscale, quality: 50))
            .write(to: URL(fileURLWithPath: dir + "/gray-8x8.jpg"))
        try Data(JPEG.encode(samples: [UInt8](repeating: 200, count: 4 * 9 * 7), width: 9, height: 7, layout: .adobeCMYK, quality: 70))
            .write(to: URL(fileURLWithPath: dir + "/cmyk-9x7.jpg"))
    }
}
