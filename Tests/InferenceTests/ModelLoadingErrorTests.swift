import Foundation
@testable import Inference
import Testing

/// Bad model files give one clear error naming the file and the problem, never a crash.
@Suite struct ModelLoadingErrorTests {
    @Test func missingFileIsNamed() {
        let error = #expect(throws: InferenceError.self) { try Network.load(onnx: "/nonexistent/model.onnx") }
        #expect(error?.code == .fileUnreadable)
        #expect(error?.message.contains("/nonexistent/model.onnx") == true)
    }

    @Test func textFileIsNotAModel() throws {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/labels.onnx"
        try "cardboard\nglass\nmetal\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: InferenceError.self) { try Network.load(onnx: path) }
        #expect(error?.message.contains(path) == true)
    }

    @Test func emptyFileIsRefused() throws {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/empty.onnx", contents: Data())
        let error = #expect(throws: InferenceError.self) { try Network.load(onnx: directory + "/empty.onnx") }
        #expect(error?.message.contains("empty") == true)
    }

    @Test func everyTruncationOfAModelIsRefused() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try Paths.model("tiny-v1.5-torch-6.onnx")))
        var rng = SplitMix64(seed: 9)
        var cuts = (0..<60).map { _ in Int.random(in: 1..<bytes.count, using: &rng) }
        cuts += [1, 2, bytes.count / 2, bytes.count - 1]
        for cut in cuts {
            #expect(throws: InferenceError.self, "truncated at \(cut) of \(bytes.count)") {
                try Network.load(onnxBytes: bytes.prefix(cut), path: "cut.onnx")
            }
        }
    }

    @Test func truncatedExternalDataNamesTheDataFile() throws {
        let source = try Paths.model("resnet50-v1.5-torch-40-ext.onnx")
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let names = try FileManager.default.contentsOfDirectory(atPath: (source as NSString).deletingLastPathComponent)
            .filter { $0.hasPrefix("resnet50-v1.5-torch-40-ext.onnx") }
        for name in names {
            try FileManager.default.copyItem(atPath: ((source as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name),
                                             toPath: directory + "/" + name)
        }
        let data = names.first { $0 != "resnet50-v1.5-torch-40-ext.onnx" }
        let dataPath = directory + "/" + (data ?? "missing")
        let handle = try #require(FileHandle(forWritingAtPath: dataPath))
        try handle.truncate(atOffset: 1000)
        try handle.close()
        let error = #expect(throws: InferenceError.self) { try Network.load(onnx: directory + "/resnet50-v1.5-torch-40-ext.onnx") }
        #expect(error?.message.contains(dataPath) == true, "\(error?.message ?? "")")
    }

    /// Builds a small graph with the onnx helper and checks the refusal names node, op and attribute.
    @Test(arguments: [
        ("grouped", "Conv", "group"),
        ("lrn", "LRN", "LRN"),
        ("dilated", "Conv", "dilations"),
    ])
    func unsupportedOperatorsAreRefusedByName(kind: String, op: String, word: String) throws {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = """
        import sys, numpy as np, onnx
        from onnx import helper, TensorProto, numpy_helper
        kind, out = sys.argv[1], sys.argv[2]
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
        if kind == "lrn":
            node = helper.make_node("LRN", ["x"], ["y"], name="bad_node", size=3)
            inits = []
        else:
            attrs = {"group": 2} if kind == "grouped" else {"dilations": [2, 2]}
            w = numpy_helper.from_array(np.ones((4, 2 if kind == "grouped" else 4, 3, 3), np.float32), "w")
            node = helper.make_node("Conv", ["x", "w"], ["y"], name="bad_node", **attrs)
            inits = [w]
        g = helper.make_graph([node], "g", [x], [y], inits)
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), out)
        """
        let result = try runProcess(Paths.python, ["-c", script, kind, directory + "/bad.onnx"])
        try #require(result.status == 0, "python onnx helper failed: \(result.stderr)")
        let error = #expect(throws: InferenceError.self) { try Network.load(onnx: directory + "/bad.onnx") }
        #expect(error?.code == .unsupported)
        let message = error?.message ?? ""
        #expect(message.contains("bad_node") && message.contains(op) && message.contains(word), "\(message)")
    }
}
