import Foundation

/// Calibrates and quantises a network from preprocessed images, choosing the activation range
/// method by measured fidelity: for each candidate the int8 network (bias-corrected) is compared
/// with the fp32 logits on the calibration images, and the candidate with the best worst-image
/// cosine (then the best mean) wins. Every candidate's numbers are kept in the calibration summary.
public enum Int8Calibration {
    /// The default candidates, in the order tried.
    public static let candidates: [RangeMethod] = [.minMax, .percentile(0.9999), .percentile(0.99999), .mse, .sqnr]

    /// What to quantise and how (the defaults are what `smartbin model compile --int8` does).
    public struct Options: Sendable {
        /// Keep the convolution reading the image in fp32 (its output is quantised).
        public var firstConvFP32 = true
        /// Correct every int8 layer's bias for the mean shift quantisation causes (`BiasCorrection`).
        public var biasCorrection = true
        /// Round projection shortcuts' outputs to uint8 instead of adding them in fp32 before
        /// their block's requantisation.
        public var quantizeProjections = false

        public init() {}
    }

    public static func quantize(network: Network, inputs: [[Float]], candidates: [RangeMethod] = candidates,
                                firstConvFP32: Bool = true) throws -> Int8Model {
        var options = Options()
        options.firstConvFP32 = firstConvFP32
        return try quantize(network: network, inputs: inputs, candidates: candidates, options: options)
    }

    public static func quantize(network: Network, inputs: [[Float]], candidates: [RangeMethod] = candidates,
                                options: Options) throws -> Int8Model {
        guard !inputs.isEmpty else { throw InferenceError(.badInput, "calibration needs at least one image") }
        let statistics = try CalibrationStatistics.collect(network: network, count: inputs.count) { inputs[$0] }
        let reference = try inputs.map { try logits(network, $0) }
        var best: (model: Int8Model, score: (Double, Double))?
        var measured: [CalibrationSummary.Candidate] = []
        for method in candidates {
            var model = try network.quantize(statistics: statistics, method: method, firstConvFP32: options.firstConvFP32,
                                             quantizeProjections: options.quantizeProjections)
            if options.biasCorrection { try BiasCorrection.correct(&model, network: network, inputs: inputs) }
            let engine = try network.int8Network(model)
            var cosines: [Double] = [], agree = 0
            for (x, r) in zip(inputs, reference) {
                let y = try logits(engine, x)
                cosines.append(cosine(r, y))
                if argmax(r) == argmax(y) { agree += 1 }
            }
            let score = (cosines.min() ?? 0, cosines.reduce(0, +) / Double(cosines.count))
            measured.append(.init(method: method.description, meanCosine: score.1, minCosine: score.0,
                                  top1Agreement: Double(agree) / Double(inputs.count), medianCosine: median(cosines)))
            if best == nil || score > best!.score { best = (model, score) }
        }
        var chosen = best!.model
        chosen.quantization.calibration.candidates = measured
        return chosen
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The fp32 network's logits: its output, or the input of its final Softmax.
    public static func logits(_ network: Network, _ x: [Float]) throws -> [Float] {
        guard network.plan.endsWithSoftmax, case .softmax(let input, _, _)? = network.plan.layers.last else { return try network.forward(x) }
        var result: [Float] = []
        try network.forward(x) { id, values in if id == input { result = Array(values) } }
        return result
    }

    /// The int8 network's logits: its output, or the input of its final Softmax.
    public static func logits(_ network: QuantizedNetwork, _ x: [Float]) throws -> [Float] {
        guard network.plan.endsWithSoftmax, case .softmax(let input, _, _)? = network.plan.layers.last else { return try network.forward(x) }
        var result: [Float] = []
        try network.forward(x, only: [input]) { id, values in if id == input { result = values } }
        return result
    }

    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return dot / max((na * nb).squareRoot(), 1e-30)
    }

    static func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] } ?? 0 }
}
