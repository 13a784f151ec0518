import Foundation
import Imaging
@testable import Inference
import Testing

/// Our engine against ONNX Runtime, a reference none of us wrote, on the same graph and input.
@Suite(.serialized) struct ONNXRuntimeComparisonTests {
    /// Runs ONNX Runtime (tools/ort_run.py) on `input` (NCHW) and returns its first output.
    static func onnxRuntime(model: String, input: [Float], shape: [Int]) throws -> [Float] {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try NPY.write(input, shape: shape, to: directory + "/x.npy")
        let result = try runProcess(Paths.python, [Paths.packageRoot + "/tools/ort_run.py", "--model", model,
                                                   "--input", directory + "/x.npy", "--output", directory + "/y.npy"])
        guard result.status == 0 else {
            throw TestFailure("ort_run.py failed (\(result.status)); CI installs numpy/onnx/onnxruntime via tools/setup.sh: \(result.stderr)")
        }
        return try NPY.read(directory + "/y.npy").values
    }

    static func input(for network: Network, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        // Roughly the range of normalised image data.
        return [Float].random(count: network.inputShape.count, using: &rng).map { $0 * 2.2 }
    }

    static func topK(_ values: [Float], _ k: Int) -> [Int] {
        Array(values.indices.sorted { values[$0] > values[$1] }.prefix(k))
    }

    static func compare(model name: String, seeds: [UInt64]) throws {
        let path = try Paths.model(name)
        let network = try Network.load(onnx: path)
        let shape = network.inputShape
        for seed in seeds {
            let x = input(for: network, seed: seed)
            let ours = try network.forward(x)
            let reference = try onnxRuntime(model: path, input: x, shape: [1, shape.channels, shape.height, shape.width])
            #expect(ours.count == reference.count)
            let scale = reference.map { abs($0) }.max() ?? 1
            let worst = zip(ours, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-3 * scale, "\(name) seed \(seed): max |Δ| \(worst) > 1e-3 × \(scale)")
            let strategies = network.layerDescriptions.filter { $0.contains("[winograd") }.count
            print("\(name) seed \(seed): max |Δ| / max |logit| = \(worst / scale) (\(strategies) Winograd convolutions)")
            let k = min(5, ours.count)
            #expect(topK(ours, k) == topK(reference, k), "\(name) seed \(seed): top-\(k) order differs")
        }
    }

    @Test(arguments: [
        "tiny-v1.5-torch-6.onnx", "tiny-v1-keras-6.onnx", "tiny-v1.5-torch-foldbn-6.onnx",
        "tiny-v1.5-keras-6.onnx", "tiny-v1-keras-6-opset11.onnx", "tiny-v1.5-torch-6-opset17-dynbatch.onnx",
    ])
    func tinyNetworksMatchONNXRuntime(model: String) throws {
        try Self.compare(model: model, seeds: [1, 2, 3])
    }

    @Test(arguments: [
        "resnet50-v1.5-torch-1000.onnx", "resnet50-v1-keras-6.onnx", "resnet50-v1.5-torch-40-ext.onnx",
    ])
    func resnet50MatchesONNXRuntime(model: String) throws {
        try Self.compare(model: model, seeds: [11])
    }

    @Test func resnet50FusesEveryBatchNormReluAndResidualAdd() throws {
        let network = try Network.load(onnx: try Paths.model("resnet50-v1.5-torch-1000.onnx"))
        // 53 convolutions, 1 max pool, 1 global pool, 1 dense; nothing else survives fusion.
        let kinds = network.plan.layers.map(\.name)
        #expect(kinds.filter { $0.hasPrefix("conv") }.count == 53)
        #expect(!kinds.contains("batchnorm") && !kinds.contains("add") && !kinds.contains("relu"))
        #expect(network.layerCount == 56)
        #expect(abs(network.flops / 1e9 - 8.18) < 0.05, "ResNet50 is about 4.1 GMAC; got \(network.flops / 1e9) GFLOP")
    }
}
