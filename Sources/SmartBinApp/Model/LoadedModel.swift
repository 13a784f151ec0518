import BinCore
import Foundation
import Imaging
import Inference

/// A model ready to classify images: the network, its labels (and bins), its preprocessing and
/// its identity. Built from an ONNX file or a compiled `.sbm` file, plus an optional labels or map file.
public final class LoadedModel: @unchecked Sendable {
    // @unchecked: `network` has a mutable workspace; every use goes through `lock`.
    private let network: ModelEngine
    private let lock = NSLock()
    private var input: [Float]
    private var output: [Float]

    public let labels: LabelMap
    public let preprocessor: Preprocessor
    public let info: ModelInfo
    public let path: String

    public var outputCount: Int { network.outputCount }
    public var inputShape: ActivationShape { network.inputShape }
    public var inputLayout: InputLayout { network.inputLayout }
    public var endsWithSoftmax: Bool { network.endsWithSoftmax }
    public var flops: Double { network.flops }
    public var threads: Int { network.threads }
    public var layerDescriptions: [String] { network.layerDescriptions }
    public var parameterBytes: Int { network.parameterBytes }
    public var workspaceBytes: Int { network.workspaceBytes }

    /// Loads `path`: ONNX, or a compiled model (`.sbm`, see `smartbin model compile`). Labels
    /// come from `labelsPath` (a `.tsv` map or a plain one-label-per-line file), else the compiled
    /// model's own labels, else the built-in map for 6 (TrashNet) or 40 (garbage_classify)
    /// outputs, else `class_<n>`. The preset defaults to the compiled model's, else Keras `caffe`
    /// for NHWC models, PyTorch otherwise; `resize` to the compiled model's, else shorter side
    /// 256 then centre crop 224.
    /// - Parameter precision: "fp32" or "int8"; nil: int8 when a compiled model has it, else fp32.
    ///   ONNX files run in fp32 only (int8 needs calibration: compile with `--int8`).
    public init(path: String, labelsPath: String? = nil, preset: ChannelPreset? = nil,
                resize: ResizeMode? = nil, threads: Int = 1, precision: String? = nil) throws {
        var compiledPreset: ChannelPreset?, compiledResize: ResizeMode?, embeddedLabels = ""
        if path.hasSuffix(".sbm") {
            let compiled = try CompiledModel(path: path)
            let wantInt8 = precision.map { $0 == "int8" } ?? compiled.hasInt8
            network = wantInt8 ? .int8(try compiled.int8Network()) : .fp32(try compiled.fp32Network())
            compiledPreset = ChannelPreset(rawValue: compiled.info.preset)
            compiledResize = LoadedModel.resizeMode(compiled.info.resize)
            embeddedLabels = compiled.labelsTSV
        } else {
            if precision == "int8" {
                throw AppError("\(path): int8 needs a compiled model: smartbin model compile \(path) --int8 --calibrate DIR -o MODEL.sbm")
            }
            network = .fp32(try Network.load(onnx: path, inferenceOnly: true))
        }
        network.setThreads(threads)
        let shape = network.inputShape
        guard shape.channels == 3 else {
            throw InferenceError(.unsupported, "\(path): the model takes \(shape.channels) input channels; image models take 3")
        }
        if labelsPath == nil, !embeddedLabels.isEmpty {
            labels = try LabelMap.parse(embeddedLabels, file: "\(path) (labels section)")
        } else {
            labels = try LabelCatalog.labels(for: network.outputCount, file: labelsPath, model: path)
        }
        let chosen = preset ?? compiledPreset ?? (network.inputLayout == .nhwc ? .caffe : .torch)
        let resize = resize ?? compiledResize ?? .shorterSideThenCenterCrop(shorter: 256, crop: 224)
        // The crop (or direct size) follows the model's input size.
        let fitted: ResizeMode
        switch resize {
        case .shorterSideThenCenterCrop(let shorter, let crop) where crop != shape.width || crop != shape.height:
            fitted = shape.width == shape.height
                ? .shorterSideThenCenterCrop(shorter: shorter * shape.width / crop, crop: shape.width)
                : .direct(width: shape.width, height: shape.height)
        case .direct:
            fitted = .direct(width: shape.width, height: shape.height)
        default:
            fitted = resize
        }
        preprocessor = Preprocessor(preset: chosen, resize: fitted)
        // The int8 engine's first layer then runs on the frame's bytes (exact) in int16.
        if case .int8(let engine) = network { try engine.useImageLevels(preprocessor.levels) }
        let sha = try SHA256.hex(ofFile: path)
        info = ModelInfo(name: ((path as NSString).lastPathComponent as NSString).deletingPathExtension, sha256: sha, precision: network.precision)
        self.path = path
        input = [Float](repeating: 0, count: shape.count)
        output = [Float](repeating: 0, count: network.outputCount)
    }

    /// "crop:<shorter>:<crop>" or "direct" (as a compiled model stores it) as a resize mode.
    public static func resizeMode(_ text: String) -> ResizeMode? {
        let parts = text.split(separator: ":")
        if parts.first == "crop", parts.count == 3, let shorter = Int(parts[1]), let crop = Int(parts[2]) {
            return .shorterSideThenCenterCrop(shorter: shorter, crop: crop)
        }
        if parts.first == "direct" { return .direct(width: 224, height: 224) }
        return nil
    }

    /// The engine's precision: "fp32" or "int8".
    public var precision: String { network.precision }

    /// The model's raw output (logits, or probabilities if it ends with Softmax) for an
    /// already-preprocessed NCHW input.
    public func run(tensor: [Float]) throws -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        return try network.forward(tensor)
    }

    /// Times every layer of one forward pass on a preprocessed input.
    public func profile(tensor: [Float]) throws -> [Network.LayerTiming] {
        lock.lock()
        defer { lock.unlock() }
        return try network.profile(tensor)
    }

    /// Preprocesses an image and runs the network; returns the raw output and stage timings (ms).
    public func run(image: RGBImage) throws -> (output: [Float], preprocessMilliseconds: Double, inferenceMilliseconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        input.withUnsafeMutableBufferPointer { preprocessor.write(image, into: $0) }
        let t1 = DispatchTime.now().uptimeNanoseconds
        try input.withUnsafeBufferPointer { source in
            try output.withUnsafeMutableBufferPointer { target in try network.forward(input: source, output: target) }
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        return (output, Double(t1 - t0) / 1e6, Double(t2 - t1) / 1e6)
    }

    /// Probabilities from a raw output: softmax unless the model already ends with one.
    public func probabilities(_ raw: [Float]) -> [Double] {
        if endsWithSoftmax { return raw.map(Double.init) }
        let m = raw.max() ?? 0
        let e = raw.map { Foundation.exp(Double($0 - m)) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// The top-`k` classification of a raw output.
    public func classification(_ raw: [Float], top k: Int = 5) -> Classification {
        let p = probabilities(raw)
        let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
        let top = order.prefix(max(1, k)).map { LabelScore(label: label(at: $0), score: p[$0]) }
        let best = order[0]
        return Classification(label: label(at: best), classIndex: best, confidence: p[best], top: top)
    }

    public func label(at index: Int) -> String { labels.entry(at: index)?.label ?? "class_\(index)" }
}
