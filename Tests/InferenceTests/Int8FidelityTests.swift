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

    /// Calibrates on every other photo (choosing the range method, correcting biases and adding
    /// projection shortcuts in fp32 as `smartbin model compile` does) and compares logits (the
    /// input of a final Softmax) on the photos not used for calibration: cosine ≥ 0.99 for every
    /// photo (README "int8 and compiled models" has the numbers; where the error comes from is
    /// `Int8DiagnosticTests`).
    @Test(arguments: [("resnet50-v1.5-torch-1000.onnx", ChannelPreset.torch, 0.99), ("resnet50-v1-keras-6.onnx", ChannelPreset.caffe, 0.99)])
    func int8LogitsFollowFP32OnTrashNetPhotos(model: String, preset: ChannelPreset, minimumCosine: Double) throws {
        guard let photos = Self.photos() else {
            print("Int8FidelityTests: no TrashNet photos (set SMARTBIN_SHARED_DATA); skipped")
            return
        }
        let network = try Network.load(onnx: try Paths.model(model))
        let all = try Self.tensors(photos, preset: preset)
        let calibration = stride(from: 0, to: all.count, by: 2).map { all[$0] }
        let heldOut = stride(from: 1, to: all.count, by: 2).map { all[$0] }
        let int8 = try Int8Calibration.quantize(network: network, inputs: calibration)
        let engine = try network.int8Network(int8)
        // As the bin runs it: the first layer on the image's bytes where the CPU takes it.
        let pre = Preprocessor(preset: preset, resize: .shorterSideThenCenterCrop(shorter: 256, crop: 224))
        let stems = try engine.useImageLevels(pre.levels)
        var cosines: [Double] = [], agree = 0
        for x in heldOut {
            let a = try Int8Calibration.logits(network, x), b = try Int8Calibration.logits(engine, x)
            cosines.append(Int8Calibration.cosine(a, b))
            if Int8Calibration.argmax(a) == Int8Calibration.argmax(b) { agree += 1 }
        }
        let mean = cosines.reduce(0, +) / Double(cosines.count)
        if stems > 0 { #expect(engine.imagePasses == (int16: heldOut.count, fp32: 0), "every photo's first layer ran on its bytes") }
        print("FIDELITY \(model) (\(stems) int16 stem) ranges \(int8.quantization.calibration.method): held-out \(heldOut.count) photos, cosine min \(cosines.min()!) median \(Int8Calibration.median(cosines)) mean \(mean), top-1 agreement \(Double(agree) / Double(heldOut.count))")
        for c in int8.quantization.calibration.candidates {
            print("FIDELITY \(model) candidate \(c.method) (calibration photos): min \(c.minCosine) median \(c.medianCosine ?? .nan) mean \(c.meanCosine) top1 \(c.top1Agreement)")
        }
        #expect(mean >= 0.99, "\(model): mean cosine \(mean) < 0.99")
        #expect(cosines.min()! >= minimumCosine, "\(model): min cosine \(cosines.min()!) < \(minimumCosine)")
    }
}
