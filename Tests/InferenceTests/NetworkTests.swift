import Foundation
@testable import Inference
import Testing

/// Loading a network for inference only (the convolutions' fp32 weights dropped once packed)
/// changes what it holds, never what it computes.
@Suite(.serialized) struct NetworkTests {
    static func inputs(_ network: Network, _ count: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in [Float].random(count: network.inputShape.count, using: &rng).map { $0 * 2 } }
    }

    @Test(arguments: ["tiny-v1.5-torch-6.onnx", "tiny-v1-keras-6.onnx", "tiny-v1.5-keras-6.onnx",
                      "resnet50-v1-keras-6.onnx", "resnet50-v1.5-torch-40-ext.onnx"])
    func inferenceOnlyLoadComputesExactlyWhatTheFullLoadDoes(model: String) throws {
        let path = try Paths.model(model)
        let full = try Network.load(onnx: path)
        let lean = try Network.load(onnx: path, inferenceOnly: true)
        #expect(full.keepsSourceWeights && !lean.keepsSourceWeights)
        #expect(lean.layerDescriptions == full.layerDescriptions)
        for x in Self.inputs(full, 2, seed: 21) {
            #expect(try lean.forward(x) == full.forward(x))
        }
    }

    @Test func inferenceOnlyLoadHoldsNoPackedConvolutionsWeights() throws {
        let path = try Paths.model("resnet50-v1-keras-6.onnx")
        let full = try Network.load(onnx: path)
        let lean = try Network.load(onnx: path, inferenceOnly: true)
        let kernels = Network.Kernels.current
        var dropped = 0
        for case .conv(let conv) in full.plan.layers where kernels.packs(conv) { dropped += conv.weights.count }
        if kernels.sgemm != nil { // our GEMM packs every convolution; OpenBLAS only the Winograd ones
            #expect(dropped > 20_000_000, "ResNet50 has about 23.5 M convolution weights; \(dropped) packed")
        }
        // Only the dropped weights differ (and the alignment padding between slices).
        let saved = (full.parameterBytes - lean.parameterBytes) / 4
        print("resnet50-v1-keras-6: weights \(full.parameterBytes) bytes full, \(lean.parameterBytes) inference-only; workspace \(lean.workspaceBytes) bytes")
        #expect(abs(saved - dropped) <= 16 * full.layerCount, "saved \(saved) floats, dropped \(dropped)")
    }

    @Test func inferenceOnlyNetworkIsNotCompiled() throws {
        let path = try Paths.model("tiny-v1.5-torch-6.onnx")
        let lean = try Network.load(onnx: path, inferenceOnly: true)
        let dir = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let info = CompiledModelInfo(name: "t", sourceSHA256: String(repeating: "0", count: 64), sourceFile: "t.onnx",
                                     precisions: [], preset: "torch", resize: "crop:256:224")
        let error = #expect(throws: InferenceError.self) {
            try CompiledModel.write(network: lean, onnxPath: path, int8: nil, keepFP32: true, info: info, labelsTSV: "", to: dir + "/m.sbm")
        }
        #expect(error?.code == .unsupported && error?.message.contains("inferenceOnly") == true)
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.sbm"))
    }

    /// Initializers stored in the typed fields (`float_data`, `int64_data`) rather than as raw
    /// bytes, and a model whose graph is split over two fields (protobuf merges them), load
    /// and run as ONNX Runtime runs them.
    @Test func typedFieldInitializersAndASplitGraphLoad() throws {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = """
        import sys, numpy as np, onnx
        from onnx import helper, TensorProto
        out = sys.argv[1]
        rng = np.random.default_rng(3)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
        w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], rng.standard_normal(108).astype(np.float32).tolist())
        b = helper.make_tensor("b", TensorProto.FLOAT, [4], rng.standard_normal(4).astype(np.float32).tobytes(), raw=True)
        shape = helper.make_tensor("shape", TensorProto.INT64, [2], [1, -1])
        nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                 helper.make_node("Relu", ["c"], ["r"]),
                 helper.make_node("GlobalAveragePool", ["r"], ["p"]),
                 helper.make_node("Reshape", ["p", "shape"], ["y"])]
        g = helper.make_graph(nodes, "g", [x], [y], [w, b, shape])
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        onnx.save(model, out + "/typed.onnx")
        # The same model with its graph in two ModelProto fields: nodes and I/O, then initializers.
        first = onnx.GraphProto(); first.CopyFrom(g); del first.initializer[:]
        second = onnx.GraphProto(); second.initializer.extend(g.initializer)
        head = onnx.ModelProto(); head.CopyFrom(model); head.ClearField("graph")
        with open(out + "/split.onnx", "wb") as f:
            f.write(head.SerializeToString())
            for part in (first, second):
                body = part.SerializeToString()
                n, varint = len(body), b""
                while True:
                    byte = n & 0x7F; n >>= 7
                    varint += bytes([byte | (0x80 if n else 0)])
                    if not n: break
                f.write(bytes([7 << 3 | 2]) + varint + body)
        """
        let result = try runProcess(Paths.python, ["-c", script, directory])
        try #require(result.status == 0, "python onnx helper failed: \(result.stderr)")
        var rng = SplitMix64(seed: 4)
        let x = [Float].random(count: 3 * 8 * 8, using: &rng)
        let reference = try ONNXRuntimeComparisonTests.onnxRuntime(model: directory + "/typed.onnx", input: x, shape: [1, 3, 8, 8])
        for name in ["typed.onnx", "split.onnx"] {
            for inferenceOnly in [false, true] {
                let network = try Network.load(onnx: directory + "/" + name, inferenceOnly: inferenceOnly)
                let ours = try network.forward(x)
                #expect(ours.count == reference.count)
                let scale = max(1, reference.map { abs($0) }.max() ?? 1)
                let worst = zip(ours, reference).map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst <= 1e-5 * scale, "\(name): max |Δ| \(worst)")
            }
        }
    }

    /// Random byte flips in a model are refused with an `InferenceError` or load; never a crash.
    @Test func corruptedModelsAreRefusedOrLoaded() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try Paths.model("tiny-v1.5-torch-6.onnx")))
        var rng = SplitMix64(seed: 17)
        var refused = 0
        for _ in 0..<300 {
            var corrupt = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                // Mostly the first 2 KB: tags, lengths and the graph's structure, not weight values.
                let at = Int.random(in: 0..<(Bool.random(using: &rng) ? min(2048, bytes.count) : bytes.count), using: &rng)
                corrupt[at] = UInt8.random(in: 0...255, using: &rng)
            }
            do { _ = try Network.load(onnxBytes: corrupt, path: "corrupt.onnx", inferenceOnly: true) } catch { refused += 1 }
        }
        #expect(refused > 0)
    }
}
