import Foundation
import Imaging
@testable import Inference
import Testing

/// The int8 engine against the fp32 engine of the same model on the TrashNet photos: cosine of
/// the logits per image, and top-1 agreement.
@Suite(.serialized) struct Int8FidelityTests {
    /// The shared TrashNet photos (sorted paths), or nil when the data set is not present.
    static func photos() -> [String]? {
        let root = (ProcessInfo.processInfo.environment["SMARTBIN_SHARED_DATA"] ?? Paths.packageRoot + "/../shared/data") + "/trashnet"
        guard let files = FileManager.default.enumerator(atPath: root) else { return nil }
        let jpegs = files.compactMap { $0 as? String }.filter { $0.lowercased().hasSuffix(".jpg") || $0.lowercased().hasSuffix(".jpeg") }
        return jpegs.isEmpty ? nil : jpegs.sorted().map { root + "/" + $0 }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return dot / max((na * nb).squareRoot(), 1e-30)
    }

    struct Fidelity { var minCosine: Double; var meanCosine: Double; var top1: Double }

    static func fidelity(_ int8: QuantizedNetwork, _ fp32: Network, _ inputs: [[Float]]) throws -> Fidelity {
        var cosines: [Double] = [], agree = 0
        for x in inputs {
            let a = try fp32.forward(x), b = try int8.forward(x)
            cosines.append(cosine(a, b))
            if a.indices.max(by: { a[$0] < a[$1] }) == b.indices.max(by: { b[$0] < b[$1] }) { agree += 1 }
        }
        return Fidelity(minCosine: cosines.min() ?? 0, meanCosine: cosines.reduce(0, +) / Double(max(cosines.count, 1)),
                        top1: Double(agree) / Double(max(inputs.count, 1)))
    }

    static func tensors(_ paths: [String], preset: ChannelPreset) throws -> [[Float]] {
        let pre = Preprocessor(preset: preset, resize: .shorterSideThenCenterCrop(shorter: 256, crop: 224))
        return try paths.map { pre.tensor(from: try JPEG.decode(contentsOf: $0)) }
    }

    @Test func perLayerDiagnostic() throws {
        guard ProcessInfo.processInfo.environment["SMARTBIN_FIDELITY_LAYERS"] != nil, let photos = Self.photos() else { return }
        let network = try Network.load(onnx: try Paths.model("resnet50-v1-keras-6.onnx"))
        let all = try Self.tensors(Array(photos.prefix(12)), preset: .caffe)
        let stats = try CalibrationStatistics.collect(network: network, count: 6) { all[$0 * 2] }
        let q = try network.int8Network(try network.quantize(statistics: stats, method: .mse, firstConvFP32: true))
        var reference: [Int: [Float]] = [:]
        try network.forward(all[1]) { id, values in reference[id] = Array(values) }
        try q.forward(all[1]) { id, values in
            let r = reference[id]!
            let err = zip(r, values).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
            let sig = r.map { Double($0) * Double($0) }.reduce(0, +)
            print("LAYER \(id) \(network.plan.shapes[id]) cos \(Self.cosine(r, values)) sqnr_db \(10 * log10(sig / max(err, 1e-30)))")
        }
    }

    @Test(arguments: [("resnet50-v1.5-torch-1000.onnx", ChannelPreset.torch), ("resnet50-v1-keras-6.onnx", ChannelPreset.caffe)])
    func int8LogitsFollowFP32OnTrashNetPhotos(model: String, preset: ChannelPreset) throws {
        guard let photos = Self.photos() else { return }
        let network = try Network.load(onnx: try Paths.model(model))
        let all = try Self.tensors(photos, preset: preset)
        // Calibrate on every other photo; judge on the photos not used for calibration and on all.
        let calibration = stride(from: 0, to: all.count, by: 2).map { all[$0] }
        let heldOut = stride(from: 1, to: all.count, by: 2).map { all[$0] }
        let stats = try CalibrationStatistics.collect(network: network, count: calibration.count) { calibration[$0] }
        let verbose = ProcessInfo.processInfo.environment["SMARTBIN_FIDELITY_REPORT"] != nil
        let env = ProcessInfo.processInfo.environment
        let methods: [RangeMethod] = env["SMARTBIN_FIDELITY_METHODS"] == "mse" ? [.mse]
            : verbose ? [.minMax, .percentile(0.9999), .percentile(0.99999), .mse] : [.mse]
        for method in methods {
            for firstFP32 in verbose && env["SMARTBIN_FIDELITY_FIRST"] == nil ? [false, true] : [env["SMARTBIN_FIDELITY_FIRST"] == "fp32"] {
                let q = try network.int8Network(try network.quantize(statistics: stats, method: method, firstConvFP32: firstFP32))
                let held = try Self.fidelity(q, network, heldOut)
                if verbose {
                    let everything = try Self.fidelity(q, network, all)
                    print("FIDELITY \(model) \(method) firstConvFP32=\(firstFP32) held-out: min \(held.minCosine) mean \(held.meanCosine) top1 \(held.top1) | all \(all.count): min \(everything.minCosine) mean \(everything.meanCosine) top1 \(everything.top1)")
                }
                #expect(held.minCosine >= 0.99, "\(model) \(method): min cosine \(held.minCosine) < 0.99 on held-out photos")
            }
        }
    }
}
