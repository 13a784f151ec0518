import Foundation
import Imaging
@testable import Inference
import Testing

/// The int8 engine against ONNX Runtime running its QDQ export (`QDQExport`,
/// `tools/qdq_check.py`): every uint8 activation the engine stores, in quantised steps, and the
/// logits, with ORT's graph optimisations off (the ONNX operators as specified) and on (ORT's
/// own int8 kernels, QLinearConv).
///
/// Layer by layer (each QDQ layer fed the engine's own uint8 inputs): at most 1 step, and the
/// logits within 1e-4 of max |logit|. The export computes the same real-valued function as the
/// engine — same integers, scales and zero points, same rounding (half to even) and saturation
/// ([0, 255]) — so only floating-point evaluation order differs (ORT sums the dequantised
/// products in fp32, or requantises (acc + bias) with one float multiply in QLinearConv; the
/// engine scales its exact int32 sum and adds bias × scale). That moves a value by ~1e-6 of a
/// step, which changes only the rounding of a value lying that close to a half step, by exactly
/// one step.
///
/// End to end (ORT fed the image only), such a flipped code is an input difference the next
/// layers amplify like quantisation noise (these random-weight ResNet50s amplify small
/// perturbations ~30 dB over their depth; see `Int8DiagnosticTests`), so codes deep in the
/// network differ by tens of steps; bounded there is the outcome: logits cosine ≥ 0.999 (the
/// int8-vs-fp32 error is ~5x larger).
@Suite(.serialized) struct QDQExportTests {
    static var onnxRuntimeAvailable: Bool {
        (try? runProcess(Paths.python, ["-c", "import onnx, onnxruntime"]))?.status == 0
    }

    /// Exports `model`, traces the engine on each input and runs tools/qdq_check.py.
    static func check(_ network: Network, _ model: Int8Model, inputs: [[Float]], name: String) throws -> [String: Any] {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let qdq = directory + "/model.qdq.onnx"
        try network.qdqONNX(model, name: name).write(to: URL(fileURLWithPath: qdq))
        let engine = try network.int8Network(model)
        let shape = network.inputShape
        var summaries: [[String: Any]] = []
        for (i, x) in inputs.enumerated() {
            let folder = directory + "/trace\(i)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let trace = try engine.trace(x)
            for a in trace.activations { try NPY.write(a.codes, shape: a.shape, to: folder + "/" + a.name + ".npy") }
            try NPY.write(trace.logits, shape: [1, trace.logits.count], to: folder + "/logits.npy")
            let index: [String: Any] = ["activations": trace.activations.map(\.name), "logits": "logits"]
            try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: folder + "/trace.json"))
            try NPY.write(x, shape: [1, shape.channels, shape.height, shape.width], to: folder + "/x.npy")
            let result = try runProcess(Paths.python, [Paths.packageRoot + "/tools/qdq_check.py", "--qdq", qdq, "--ours", folder,
                                                       "--input", folder + "/x.npy", "--json"])
            guard let data = result.stdout.data(using: .utf8),
                  let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TestFailure("qdq_check.py failed (\(result.status)): \(result.stderr)")
            }
            summaries.append(object)
        }
        return ["inputs": summaries]
    }

    static func expectWithinBounds(_ report: [String: Any], _ name: String) {
        for case let summary as [String: Any] in report["inputs"] as? [Any] ?? [] {
            #expect(summary["ok"] as? Bool == true, "\(name): \(summary)")
            for how in ["layerwise", "end_to_end"] {
                for mode in ["reference", "optimized"] {
                    guard let m = (summary[how] as? [String: Any])?[mode] as? [String: Any] else { Issue.record("\(name): no \(how) \(mode) result"); continue }
                    let steps = m["max_steps"] as? Int ?? 99
                    if how == "layerwise" { #expect(steps <= 1, "\(name) \(mode): \(steps) steps") }
                    print(String(format: "QDQ %@ %@ %@: max %d step(s) (last tensor %d), %.5f%% of codes differ, logits max |d| %.3g (%.3g%% of max |logit|), cosine %.8f, top-1 %@",
                                 name, how, mode, steps, m["last_tensor_max_steps"] as? Int ?? -1, 100 * (m["differing_fraction"] as? Double ?? .nan),
                                 m["logits_max_abs"] as? Double ?? .nan, 100 * (m["logits_max_abs_rel"] as? Double ?? .nan),
                                 m["logits_min_cosine"] as? Double ?? .nan, m["top1_same"] as? Bool == true ? "same" : "differs"))
                }
            }
        }
    }

    static func randomInputs(_ network: Network, _ count: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in [Float].random(count: network.inputShape.count, using: &rng).map { $0 * 2 } }
    }

    @Test(arguments: ["tiny-v1.5-torch-6.onnx", "tiny-v1-keras-6.onnx", "tiny-v1.5-keras-6.onnx"])
    func tinyInt8EngineMatchesONNXRuntimeOnItsQDQExport(model: String) throws {
        guard Self.onnxRuntimeAvailable else { print("QDQExportTests: onnx/onnxruntime not importable; skipped"); return }
        let network = try Network.load(onnx: try Paths.model(model))
        let int8 = try Int8Calibration.quantize(network: network, inputs: Self.randomInputs(network, 6, seed: 7), candidates: [.mse])
        Self.expectWithinBounds(try Self.check(network, int8, inputs: Self.randomInputs(network, 2, seed: 8), name: model), model)
    }

    /// ResNet50 calibrated on 8 TrashNet photos (every other of the first 16), checked on 2 others.
    @Test(arguments: [("resnet50-v1.5-torch-1000.onnx", ChannelPreset.torch), ("resnet50-v1-keras-6.onnx", ChannelPreset.caffe)])
    func resnet50Int8EngineMatchesONNXRuntimeOnItsQDQExport(model: String, preset: ChannelPreset) throws {
        guard Self.onnxRuntimeAvailable else { print("QDQExportTests: onnx/onnxruntime not importable; skipped"); return }
        let network = try Network.load(onnx: try Paths.model(model))
        let inputs: [[Float]]
        if let photos = Int8FidelityTests.photos() {
            inputs = try Int8FidelityTests.tensors(Array(photos.prefix(20)), preset: preset)
        } else {
            inputs = Self.randomInputs(network, 20, seed: 12)
        }
        let calibration = stride(from: 0, to: 16, by: 2).map { inputs[$0] }
        let int8 = try Int8Calibration.quantize(network: network, inputs: calibration, candidates: [.sqnr])
        Self.expectWithinBounds(try Self.check(network, int8, inputs: [inputs[17], inputs[19]], name: model), model)
    }
}
