import Foundation
import Imaging
@testable import Inference
import Testing

/// The compiled model file: round trips exactly, and refuses truncated or altered files naming
/// the section and offset.
@Suite(.serialized) struct CompiledModelTests {
    static func info() -> CompiledModelInfo {
        CompiledModelInfo(name: "t", sourceSHA256: String(repeating: "0", count: 64), sourceFile: "t.onnx", precisions: [],
                          preset: "torch", resize: "crop:256:224")
    }

    static func inputs(_ network: Network, _ count: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in [Float].random(count: network.inputShape.count, using: &rng).map { $0 * 2 } }
    }

    @Test(arguments: ["tiny-v1.5-torch-6.onnx", "tiny-v1-keras-6.onnx", "resnet50-v1-keras-6.onnx"])
    func fp32RoundTripEqualsDirectONNXLoadExactly(model: String) throws {
        let path = try Paths.model(model)
        let network = try Network.load(onnx: path)
        let dir = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CompiledModel.write(network: network, onnxPath: path, int8: nil, keepFP32: true, info: Self.info(), labelsTSV: "", to: dir + "/m.sbm")
        let compiled = try CompiledModel(path: dir + "/m.sbm").fp32Network()
        for x in Self.inputs(network, 2, seed: 5) {
            #expect(try compiled.forward(x) == network.forward(x))
        }
    }

    @Test func int8RoundTripEqualsInMemoryQuantisationExactly() throws {
        let path = try Paths.model("tiny-v1.5-torch-6.onnx")
        let network = try Network.load(onnx: path)
        let calibration = Self.inputs(network, 4, seed: 9)
        let model = try Int8Calibration.quantize(network: network, inputs: calibration, candidates: [.mse])
        let direct = try network.int8Network(model)
        let dir = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CompiledModel.write(network: network, onnxPath: path, int8: model, keepFP32: false, info: Self.info(), labelsTSV: "", to: dir + "/m.sbm")
        let file = try CompiledModel(path: dir + "/m.sbm")
        #expect(file.info.precisions == ["int8"])
        #expect(throws: InferenceError.self) { try file.fp32Network() }
        let loaded = try file.int8Network()
        for x in Self.inputs(network, 3, seed: 10) {
            #expect(try loaded.forward(x) == direct.forward(x))
        }
    }

    /// `useImageLevels`: a frame made by the preprocessing runs the stem on its bytes in int16
    /// (where the CPU has AVX-512 VNNI), close to the fp32 stem; any other input runs the fp32
    /// stem, bit for bit as an engine never told the levels; levels of the wrong length are refused.
    @Test func imageLevelsRunTheStemOnBytesAndOtherInputsInFP32() throws {
        let network = try Network.load(onnx: try Paths.model("tiny-v1.5-torch-6.onnx"))
        let shape = network.inputShape
        let pre = Preprocessor(preset: .torch, resize: .direct(width: shape.width, height: shape.height))
        var rng = SplitMix64(seed: 21)
        let frames = (0..<3).map { _ in
            pre.tensor(from: RGBImage(width: 40, height: 40, pixels: (0..<40 * 40 * 3).map { _ in UInt8(truncatingIfNeeded: rng.next()) }))
        }
        let model = try Int8Calibration.quantize(network: network, inputs: frames, candidates: [.mse])
        let plain = try network.int8Network(model), engine = try network.int8Network(model)
        let stems = try engine.useImageLevels(pre.levels)
        #if arch(x86_64)
        let vnni = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains("avx512_vnni")
        #else
        let vnni = false
        #endif
        #expect(stems == (vnni ? 1 : 0), "the tiny model's stem \(vnni ? "takes" : "cannot take") the int16 path")
        for x in frames {
            let (a, b) = (try plain.forward(x), try engine.forward(x))
            #expect(Int8Calibration.cosine(a, b) > 0.999, "frame: \(a) vs \(b)")
        }
        #expect(engine.imagePasses == (int16: vnni ? frames.count : 0, fp32: 0))
        let noise = Self.inputs(network, 2, seed: 22)
        for x in noise { #expect(try engine.forward(x) == plain.forward(x), "an input off the levels runs the fp32 stem") }
        #expect(engine.imagePasses == (int16: vnni ? frames.count : 0, fp32: vnni ? noise.count : 0))
        #expect(throws: InferenceError(.badInput, "image levels: [256, 256, 255] values per channel, need 256")) {
            try engine.useImageLevels([[Float]](repeating: [Float](repeating: 0, count: 256), count: 2) + [[Float](repeating: 0, count: 255)])
        }
    }

    /// `profile` (behind `bench --layers`): one timing per layer, every FLOP counted once, and a
    /// projection that runs inside its block's last conv counted with that conv, where its time is.
    @Test func int8ProfileCountsAProjectionsWorkWithTheConvThatRunsIt() throws {
        let network = try Network.load(onnx: try Paths.model("tiny-v1.5-torch-6.onnx"))
        let model = try Int8Calibration.quantize(network: network, inputs: Self.inputs(network, 3, seed: 30), candidates: [.mse])
        let engine = try network.int8Network(model)
        let timings = try engine.profile(Self.inputs(network, 1, seed: 31)[0])
        #expect(timings.map(\.index) == Array(engine.plan.layers.indices))
        let total = engine.plan.layers.reduce(0.0) { $0 + $1.flops }
        #expect(abs(timings.reduce(0.0) { $0 + $1.flops } - total) <= 1e-9 * total)
        #expect(!engine.pairOf.isEmpty, "the tiny model has a projection pair")
        for (block, shortcut) in engine.pairOf {
            #expect(timings[shortcut].flops == 0)
            #expect(timings[block].flops == engine.plan.layers[block].flops + engine.plan.layers[shortcut].flops)
        }
    }

    @Test func truncatedOrAlteredFilesAreRefusedNamingSectionAndOffset() throws {
        let path = try Paths.model("tiny-v1.5-torch-6.onnx")
        let network = try Network.load(onnx: path)
        let model = try Int8Calibration.quantize(network: network, inputs: Self.inputs(network, 2, seed: 3), candidates: [.minMax])
        let dir = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = dir + "/m.sbm", bad = dir + "/bad.sbm"
        try CompiledModel.write(network: network, onnxPath: path, int8: model, keepFP32: true, info: Self.info(),
                                labelsTSV: "0\ta\t-\ta\n", to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let sections = try CompiledModel(path: good).sections
        #expect(Set(sections.map(\.name)) == ["meta", "graph", "labels", "quant", "weights.fp32", "weights.int8"])

        func refusal(_ data: Data) throws -> String? {
            try data.write(to: URL(fileURLWithPath: bad))
            do { _ = try CompiledModel(path: bad); return nil } catch { return error.message }
        }
        // Truncation at many offsets: header, table, inside and between every section.
        var cuts = [0, 1, 8, 40, 63, 64, 100, bytes.count - 1]
        for s in sections { cuts += [s.offset, s.offset + s.size / 2, s.offset + s.size - 1].filter { $0 < bytes.count && $0 >= 0 } }
        for cut in Set(cuts).sorted() {
            let message = try refusal(bytes.prefix(cut))
            #expect(message != nil, "truncated at \(cut) was accepted")
            guard let message else { continue }
            let named = message.contains("header") || message.contains("section table") || sections.contains { message.contains("'\($0.name)'") && message.contains("offset \($0.offset)") }
            #expect(named && message.contains("offset"), "truncated at \(cut): \(message)")
        }
        // A flipped byte in every section (start, middle, end) names that section and its offset.
        for s in sections where s.size > 0 {
            for at in Set([s.offset, s.offset + s.size / 2, s.offset + s.size - 1]) {
                var altered = bytes
                altered[at] ^= 0x5A
                let message = try refusal(altered)
                #expect(message?.contains("section '\(s.name)' (offset \(s.offset)") == true, "flip at \(at) in \(s.name): \(message ?? "accepted")")
            }
        }
        // And in the header and the table.
        for (at, part) in [(9, "header"), (70, "section table")] {
            var altered = bytes
            altered[at] ^= 0x01
            let message = try refusal(altered)
            #expect(message?.contains(part) == true, "flip at \(at): \(message ?? "accepted")")
        }
    }

    /// Counts in the graph section that would overflow (found by the `compiled` fuzz target:
    /// each trapped before) are refused naming the graph section and the value.
    @Test func graphCountsThatWouldOverflowAreRefused() throws {
        let path = try Paths.model("tiny-v1.5-torch-6.onnx")
        let dir = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CompiledModel.write(network: try Network.load(onnx: path), onnxPath: path, int8: nil, keepFP32: true,
                                info: Self.info(), labelsTSV: "", to: dir + "/m.sbm")
        let good = try CompiledModel(path: dir + "/m.sbm")
        let file = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.sbm"))
        let parts = good.sections.map { ($0.name, file.subdata(in: $0.offset..<$0.offset + $0.size)) }
        let graph = try #require(try JSONSerialization.jsonObject(with: parts.first { $0.0 == "graph" }!.1) as? [String: Any])

        let edits: [(String, ([String: Any]) -> [String: Any], String)] = [
            ("slice end", { g in
                var g = g, layers = g["layers"] as! [[String: Any]]
                layers[0]["weights"] = [Int.max, 1]
                g["layers"] = layers
                return g
            }, "layer 0: bad parameter slice [\(Int.max), 1]"),
            ("parameter count", { g in
                var g = g
                g["parameterCount"] = Int.max / 2
                return g
            }, "bad parameterCount \(Int.max / 2)"),
            ("shape", { g in
                var g = g, shapes = g["shapes"] as! [[Int]]
                shapes[shapes.count - 1] = [3_037_000_500, 3_037_000_500, 3]
                g["shapes"] = shapes
                return g
            }, "shape [3037000500, 3037000500, 3] is too large"),
        ]
        for (what, edit, expected) in edits {
            let altered = try JSONSerialization.data(withJSONObject: edit(graph))
            try ModelFile.write(parts.map { $0.0 == "graph" ? ($0.0, altered) : $0 }, to: dir + "/bad.sbm")
            let error = #expect(throws: InferenceError.self, "\(what)") { try CompiledModel(path: dir + "/bad.sbm") }
            #expect(error?.message == "\(dir)/bad.sbm: graph section: \(expected)", "\(what)")
        }
    }

    /// Format 2 (int32 biases after bias correction, projections added in fp32) is what compile
    /// writes; a format-1 file (quantised projections, no stored biases) still loads and runs as
    /// it did; an unknown version is refused naming the version and what this firmware reads.
    @Test func formatVersionsOneAndTwoLoadOthersAreRefused() throws {
        let path = try Paths.model("tiny-v1.5-torch-6.onnx")
        let network = try Network.load(onnx: path)
        let calibration = Self.inputs(network, 3, seed: 21)
        let dir = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let current = try Int8Calibration.quantize(network: network, inputs: calibration, candidates: [.minMax])
        #expect(current.quantization.calibration.biasCorrection == true)
        #expect(current.quantization.convs.allSatisfy { $0.bias != nil })
        let pairs = Quantizer.projectionPairs(network.plan, int8Layers: Set(current.quantization.convs.map(\.layer)))
        #expect(!pairs.isEmpty && pairs.allSatisfy { current.quantization.activations[$0.shortcutOutput] == nil })
        try CompiledModel.write(network: network, onnxPath: path, int8: current, keepFP32: false, info: Self.info(), labelsTSV: "", to: dir + "/v2.sbm")
        let v2 = try CompiledModel(path: dir + "/v2.sbm")
        #expect(v2.formatVersion == 2)
        let x = Self.inputs(network, 1, seed: 22)[0]
        #expect(try v2.int8Network().forward(x) == network.int8Network(current).forward(x))

        // What format 1 held: every conv output quantised, no int32 biases, no corrections.
        let statistics = try CalibrationStatistics.collect(network: network, count: calibration.count) { calibration[$0] }
        var old = try network.quantize(statistics: statistics, method: .minMax, firstConvFP32: true, quantizeProjections: true)
        for i in old.quantization.convs.indices { old.quantization.convs[i].bias = nil }
        try CompiledModel.write(network: network, onnxPath: path, int8: old, keepFP32: false, info: Self.info(), labelsTSV: "",
                                to: dir + "/v1.sbm", formatVersion: 1)
        let v1 = try CompiledModel(path: dir + "/v1.sbm")
        #expect(v1.formatVersion == 1)
        let y = try v1.int8Network().forward(x), reference = try network.forward(x)
        #expect(Int8Calibration.cosine(y, reference) > 0.9, "a format-1 file runs (cosine \(Int8Calibration.cosine(y, reference)))")

        try CompiledModel.write(network: network, onnxPath: path, int8: current, keepFP32: false, info: Self.info(), labelsTSV: "",
                                to: dir + "/v3.sbm", formatVersion: 3)
        let error = #expect(throws: InferenceError.self) { try CompiledModel(path: dir + "/v3.sbm") }
        #expect(error?.message.contains("format version 3 at offset 8; this firmware reads versions 1–2") == true, "\(error?.message ?? "")")
    }
}
