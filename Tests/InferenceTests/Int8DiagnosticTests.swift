import Foundation
import Imaging
@testable import Inference
import Testing

/// Where the int8 engine's error comes from, on the TrashNet photos (calibrated on every other
/// photo, measured on the others). Diagnostics, not checks: each runs only when its variable is
/// set to `torch` (ResNet50 v1.5 torch, 1000 classes) or `keras` (ResNet50 v1 Keras, 6 classes),
/// and prints its findings (README "int8 and compiled models" quotes them).
///
///     SMARTBIN_INT8_LAYERS=torch   swift test --filter Int8DiagnosticTests/perLayerError
///     SMARTBIN_INT8_SOURCES=torch  swift test --filter Int8DiagnosticTests/errorSources
///     SMARTBIN_INT8_SENSITIVITY=keras swift test --filter Int8DiagnosticTests/activationSensitivity
///     SMARTBIN_INT8_METHODS=keras  swift test --filter Int8DiagnosticTests/rangeMethodsWithAndWithoutBiasCorrection
///     SMARTBIN_INT8_WORST=keras    swift test --filter Int8DiagnosticTests/worstPhotos
///     SMARTBIN_INT8_ABLATION=torch swift test --filter Int8DiagnosticTests/ablation
@Suite(.serialized) struct Int8DiagnosticTests {
    struct Setup {
        var name: String
        var network: Network
        var calibration: [[Float]]
        var heldOut: [[Float]]
        var statistics: CalibrationStatistics
        /// The activation holding the logits (the input of a final Softmax, else the output).
        var logits: Int
    }

    static func setup(_ variable: String) throws -> Setup? {
        guard let which = ProcessInfo.processInfo.environment[variable], let photos = Int8FidelityTests.photos() else { return nil }
        let (model, preset) = which == "keras" ? ("resnet50-v1-keras-6.onnx", ChannelPreset.caffe) : ("resnet50-v1.5-torch-1000.onnx", ChannelPreset.torch)
        let network = try Network.load(onnx: try Paths.model(model))
        let all = try Int8FidelityTests.tensors(photos, preset: preset)
        let calibration = stride(from: 0, to: all.count, by: 2).map { all[$0] }
        let heldOut = stride(from: 1, to: all.count, by: 2).map { all[$0] }
        let statistics = try CalibrationStatistics.collect(network: network, count: calibration.count) { calibration[$0] }
        let plan = network.plan
        var logits = plan.output
        if plan.endsWithSoftmax, case .softmax(let input, _, _)? = plan.layers.last { logits = input }
        return Setup(name: which, network: network, calibration: calibration, heldOut: heldOut, statistics: statistics, logits: logits)
    }

    static func layerName(_ plan: NetworkPlan, _ id: Int) -> String {
        guard let index = plan.layers.firstIndex(where: { $0.output == id }) else { return "input" }
        return plan.layers[index].name + (plan.layers[index].inputs.count > 1 ? "+res" : "")
    }

    /// The fp32 network's logits with each activation in `quantised` replaced by its uint8
    /// quantisation, dequantised (fake quantisation: the activation rounding alone).
    static func fakeQuantisedLogits(_ network: Network, _ x: [Float], _ quantised: [Int: TensorQuantization], logits: Int) throws -> [Float] {
        var result: [Float] = []
        try network.forward(x) { id, values in
            if let q = quantised[id] {
                let p = UnsafeMutableBufferPointer(mutating: values)
                for k in p.indices { p[k] = q.scale * (Float(q.quantize(p[k])) - Float(q.zeroPoint)) }
            }
            if id == logits { result = Array(values) }
        }
        return result
    }

    static func distance(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +).squareRoot() }

    /// Per activation, on the 4 held-out photos with the worst logit cosine: SQNR of the int8
    /// activation against the fp32 one (error accumulated so far), SQNR of quantising the fp32
    /// activation alone (this tensor's own rounding and clipping), the share of the error that
    /// is a per-channel mean shift, and the fraction clipped.
    @Test func perLayerError() throws {
        guard let s = try Self.setup("SMARTBIN_INT8_LAYERS") else { return }
        let plan = s.network.plan
        let int8 = try s.network.quantize(statistics: s.statistics, method: .percentile(0.99999), firstConvFP32: true)
        let engine = try s.network.int8Network(int8)
        let worst = try s.heldOut.indices.map { i in
            (i, Int8Calibration.cosine(try Int8Calibration.logits(s.network, s.heldOut[i]), try Int8Calibration.logits(engine, s.heldOut[i])))
        }.sorted { $0.1 < $1.1 }.prefix(4)
        var err = [Double](repeating: 0, count: plan.shapes.count), sig = err, own = err, shift = err, clipped = err, n = err
        for (index, _) in worst {
            var reference: [Int: [Float]] = [:]
            try s.network.forward(s.heldOut[index]) { id, v in reference[id] = Array(v) }
            try engine.forward(s.heldOut[index]) { id, q in
                guard let r = reference[id] else { return }
                let shape = plan.shapes[id], tq = int8.quantization.activations[id]
                for c in 0..<shape.channels {
                    var mean = 0.0
                    for p in 0..<shape.plane {
                        let k = c * shape.plane + p, d = Double(q[k]) - Double(r[k])
                        err[id] += d * d; sig[id] += Double(r[k]) * Double(r[k]); mean += d
                        if let tq {
                            let alone = tq.scale * (Float(tq.quantize(r[k])) - Float(tq.zeroPoint))
                            own[id] += Double(alone - r[k]) * Double(alone - r[k])
                            if r[k] > tq.scale * (255 - Float(tq.zeroPoint)) || r[k] < -tq.scale * Float(tq.zeroPoint) { clipped[id] += 1 }
                        }
                    }
                    mean /= Double(shape.plane)
                    shift[id] += mean * mean * Double(shape.plane)
                }
                n[id] += Double(shape.count)
            }
        }
        print("LAYERS \(s.name): worst held-out photos \(worst.map { "\($0.0): \(String(format: "%.5f", $0.1))" })")
        for id in plan.shapes.indices where sig[id] > 0 && int8.quantization.activations[id] != nil {
            print(String(format: "LAYERS %3d %-14@ %-11@ accumulated %6.2f dB  own %6.2f dB  mean-shift share %5.1f%%  clipped %.5f%%",
                         id, Self.layerName(plan, id), "\(plan.shapes[id])", 10 * log10(sig[id] / max(err[id], 1e-30)),
                         10 * log10(sig[id] / max(own[id], 1e-30)), 100 * shift[id] / max(err[id], 1e-30), 100 * clipped[id] / n[id]))
        }
    }

    /// RMS logit error (held-out) of: the int8 weights alone (fp32 activations), the activation
    /// rounding alone (fp32 weights), both (the int8 engine), and each with bias correction.
    @Test func errorSources() throws {
        guard let s = try Self.setup("SMARTBIN_INT8_SOURCES") else { return }
        let plan = s.network.plan
        let int8 = try s.network.quantize(statistics: s.statistics, method: .percentile(0.99999), firstConvFP32: true)
        // fp32 networks with the int8 convolutions' weights dequantised: as they are, and with
        // the classic (weights-only) bias correction b' = b - (Wq - W) E[x].
        var weightsOnly = plan, corrected = plan
        let means = try BiasCorrection.fp32Means(s.network, convs: Set(int8.quantization.convs.map(\.layer)), inputs: s.calibration)
        for w in int8.quantization.convs {
            guard case .conv(let conv) = plan.layers[w.layer], let mu = means.rows[w.layer] else { continue }
            let k = conv.reduction
            for m in 0..<conv.outChannels {
                var delta = 0.0
                for j in 0..<k {
                    let at = conv.weights.offset + m * k + j
                    weightsOnly.parameters[at] = Float(int8.weights[w.offset + m * k + j]) * w.scales[m]
                    corrected.parameters[at] = weightsOnly.parameters[at]
                    delta += Double(weightsOnly.parameters[at] - plan.parameters[at]) * mu[j]
                }
                corrected.parameters[conv.bias.offset + m] -= Float(delta)
            }
        }
        let weightsNetwork = Network(plan: weightsOnly), correctedNetwork = Network(plan: corrected)
        var activations: [Int: TensorQuantization] = [:]
        for (id, q) in int8.quantization.activations.enumerated() where q != nil && id != plan.input { activations[id] = q }
        var biasCorrected = int8
        try BiasCorrection.correct(&biasCorrected, network: s.network, inputs: s.calibration)
        let engine = try s.network.int8Network(int8), correctedEngine = try s.network.int8Network(biasCorrected)
        var power = [Double](repeating: 0, count: 6)
        for x in s.heldOut {
            let reference = try Int8Calibration.logits(s.network, x)
            let errors = [
                Self.distance(reference, try Int8Calibration.logits(weightsNetwork, x)),
                Self.distance(reference, try Int8Calibration.logits(correctedNetwork, x)),
                Self.distance(reference, try Self.fakeQuantisedLogits(s.network, x, activations, logits: s.logits)),
                Self.distance(reference, try Int8Calibration.logits(engine, x)),
                Self.distance(reference, try Int8Calibration.logits(correctedEngine, x)),
                reference.map { Double($0 * $0) }.reduce(0, +).squareRoot(),
            ]
            for i in power.indices { power[i] += errors[i] * errors[i] / Double(s.heldOut.count) }
        }
        let rms = power.map { $0.squareRoot() }
        print(String(format: "SOURCES %@: rms logit error (|logits| %.2f): int8 weights alone %.3f (bias-corrected %.3f), activation rounding alone %.3f, int8 engine %.3f, int8 engine bias-corrected %.3f",
                     s.name, rms[5], rms[0], rms[1], rms[2], rms[3], rms[4]))
    }

    /// Logit error power (held-out, mean over every 4th photo) caused by quantising one
    /// activation alone, the rest of the network fp32: which tensors' rounding matters.
    @Test func activationSensitivity() throws {
        guard let s = try Self.setup("SMARTBIN_INT8_SENSITIVITY") else { return }
        let plan = s.network.plan
        let int8 = try s.network.quantize(statistics: s.statistics, method: .percentile(0.99999), firstConvFP32: true)
        let photos = stride(from: 0, to: s.heldOut.count, by: 4).map { s.heldOut[$0] }
        let references = try photos.map { try Int8Calibration.logits(s.network, $0) }
        for id in plan.shapes.indices where id != plan.input {
            guard let q = int8.quantization.activations[id] else { continue }
            var power = 0.0
            for (x, reference) in zip(photos, references) {
                let e = Self.distance(reference, try Self.fakeQuantisedLogits(s.network, x, [id: q], logits: s.logits))
                power += e * e / Double(photos.count)
            }
            print(String(format: "SENSITIVITY %@ %3d %-14@ %-11@ logit error power %.4f", s.name, id, Self.layerName(plan, id), "\(plan.shapes[id])", power))
        }
    }

    static func summary(_ network: Network, _ model: Int8Model, _ inputs: [[Float]]) throws -> String {
        let engine = try network.int8Network(model)
        var cosines: [Double] = [], agree = 0
        for x in inputs {
            let a = try Int8Calibration.logits(network, x), b = try Int8Calibration.logits(engine, x)
            cosines.append(Int8Calibration.cosine(a, b))
            if Int8Calibration.argmax(a) == Int8Calibration.argmax(b) { agree += 1 }
        }
        cosines.sort()
        return String(format: "min %.5f median %.5f mean %.5f top-1 %.1f%%", cosines[0], cosines[cosines.count / 2],
                      cosines.reduce(0, +) / Double(cosines.count), 100 * Double(agree) / Double(inputs.count))
    }

    /// Every range method, without and with bias correction: held-out and calibration cosines.
    @Test func rangeMethodsWithAndWithoutBiasCorrection() throws {
        guard let s = try Self.setup("SMARTBIN_INT8_METHODS") else { return }
        for method in [RangeMethod.minMax, .percentile(0.9999), .percentile(0.99999), .mse, .sqnr] {
            var int8 = try s.network.quantize(statistics: s.statistics, method: method, firstConvFP32: true)
            print("METHODS \(s.name) \(method) plain: held-out \(try Self.summary(s.network, int8, s.heldOut)); calibration \(try Self.summary(s.network, int8, s.calibration))")
            let start = Date()
            try BiasCorrection.correct(&int8, network: s.network, inputs: s.calibration)
            print("METHODS \(s.name) \(method) bias-corrected (\(String(format: "%.1f", Date().timeIntervalSince(start))) s): held-out \(try Self.summary(s.network, int8, s.heldOut)); calibration \(try Self.summary(s.network, int8, s.calibration))")
        }
    }

    /// The held-out photos by cosine (bias-corrected int8): logit and error norms, and how many
    /// fp32 activation values fell outside their uint8 range (clipped).
    @Test func worstPhotos() throws {
        guard let s = try Self.setup("SMARTBIN_INT8_WORST") else { return }
        let method: RangeMethod = ProcessInfo.processInfo.environment["SMARTBIN_INT8_METHOD"] == "mse" ? .mse : .percentile(0.99999)
        var int8 = try s.network.quantize(statistics: s.statistics, method: method, firstConvFP32: true)
        try BiasCorrection.correct(&int8, network: s.network, inputs: s.calibration)
        let engine = try s.network.int8Network(int8)
        var rows: [(Double, String)] = []
        for (i, x) in s.heldOut.enumerated() {
            let a = try Int8Calibration.logits(s.network, x), b = try Int8Calibration.logits(engine, x)
            var clipped = 0, clippedEnergy = 0.0
            try s.network.forward(x) { id, v in
                guard let q = int8.quantization.activations[id], id != s.network.plan.input else { return }
                let hi = q.scale * (255 - Float(q.zeroPoint)), lo = -q.scale * Float(q.zeroPoint)
                for value in v where value > hi || value < lo { clipped += 1; let d = Double(value > hi ? value - hi : lo - value); clippedEnergy += d * d }
            }
            let c = Int8Calibration.cosine(a, b)
            rows.append((c, String(format: "WORST %@ photo %2d cos %.5f |logits| %6.2f |err| %.3f clipped values %d (energy %.3g)", s.name, i, c,
                                   a.map { Double($0 * $0) }.reduce(0, +).squareRoot(), Self.distance(a, b), clipped, clippedEnergy)))
        }
        for row in rows.sorted(by: { $0.0 < $1.0 }) { print(row.1) }
    }

    /// What each measure buys, compiled as `smartbin model compile --int8` does (every range
    /// method measured, the best worst calibration photo kept), judged on the held-out photos.
    @Test func ablation() throws {
        guard let s = try Self.setup("SMARTBIN_INT8_ABLATION") else { return }
        let configurations: [(String, (inout Int8Calibration.Options) -> Void)] = [
            ("format 1: projections uint8, no bias correction", { $0.quantizeProjections = true; $0.biasCorrection = false }),
            ("bias correction only", { $0.quantizeProjections = true }),
            ("projections fp32 only", { $0.biasCorrection = false }),
            ("both (default)", { _ in }),
            ("both, first conv int8 too", { $0.firstConvFP32 = false }),
        ]
        for (name, configure) in configurations {
            var options = Int8Calibration.Options()
            configure(&options)
            let model = try Int8Calibration.quantize(network: s.network, inputs: s.calibration, options: options)
            print("ABLATION \(s.name) \(name) [\(model.quantization.calibration.method)]: held-out \(try Self.summary(s.network, model, s.heldOut))")
        }
    }
}
