import Foundation

/// What a compiled model says about itself (the `meta` section).
public struct CompiledModelInfo: Codable, Sendable {
    public var name: String
    /// SHA-256 of the ONNX file it was compiled from.
    public var sourceSHA256: String
    public var sourceFile: String
    /// "fp32", "int8" or both: the engines the file has weights for.
    public var precisions: [String]
    /// Preprocessing: "torch" or "caffe".
    public var preset: String
    /// Resize: "crop:<shorter>:<crop>" or "direct".
    public var resize: String

    public init(name: String, sourceSHA256: String, sourceFile: String, precisions: [String], preset: String, resize: String) {
        self.name = name
        self.sourceSHA256 = sourceSHA256
        self.sourceFile = sourceFile
        self.precisions = precisions
        self.preset = preset
        self.resize = resize
    }
}

/// A compiled model file (`.sbm`, layout in `ModelFile`) mapped read-only: its description,
/// labels and quantisation are decoded at open; weights stay in the mapping until an engine is
/// made (fp32 weights are used in place; int8 weights are packed for this CPU, then dropped).
/// Opening parses no ONNX.
public final class CompiledModel {
    public let path: String
    public let info: CompiledModelInfo
    /// The `labels` section: TSV lines `index<TAB>label[<TAB>bin]` (empty when none were given).
    public let labelsTSV: String
    public let sections: [ModelFile.Section]
    public let quantization: QuantizationPlan?
    /// The file's format version (`ModelFile.readableVersions`).
    public let formatVersion: Int
    let plan: NetworkPlan
    private let parameterCount: Int
    private let file: MappedFile

    public var inputShape: ActivationShape { plan.inputShape }
    public var inputLayout: InputLayout { plan.inputLayout }
    public var outputCount: Int { plan.shapes[plan.output].count }

    /// Maps and checks `path`.
    /// - Throws: `InferenceError` naming the section and offset of a truncated or altered file.
    public init(path: String) throws(InferenceError) {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        let all = try ModelFile.sections(of: file)
        sections = all
        formatVersion = Int(file.base.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
        func section(_ name: String, required: Bool = true) throws(InferenceError) -> ModelFile.Section? {
            let found = all.first { $0.name == name }
            if found == nil, required { throw InferenceError(.malformedModel, "\(path): the file has no '\(name)' section") }
            return found
        }
        func bytes(_ s: ModelFile.Section) -> Data { Data(bytes: file.base + s.offset, count: s.size) }
        func json<T: Decodable>(_ type: T.Type, _ name: String) throws(InferenceError) -> T {
            let s = try section(name)!
            do { return try JSONDecoder().decode(T.self, from: bytes(s)) } catch {
                throw InferenceError(.malformedModel, "\(path): section '\(name)' (offset \(s.offset)) is not valid: \(error)")
            }
        }
        let info = try json(CompiledModelInfo.self, "meta")
        let description = try json(PlanDescription.self, "graph")
        let labels = try section("labels", required: false).map { String(decoding: bytes($0), as: UTF8.self) } ?? ""
        let quantization = try section("quant", required: false) == nil ? nil : try json(QuantizationPlan.self, "quant")
        // The graph first: it checks the counts the size checks below multiply.
        let plan = try description.plan(context: path)
        if let fp32 = try section("weights.fp32", required: false), fp32.size != description.parameterCount * 4 {
            throw InferenceError(.malformedModel, "\(path): section 'weights.fp32' (offset \(fp32.offset)) holds \(fp32.size) bytes; the graph needs \(description.parameterCount * 4)")
        }
        if let quantization, quantization.activations.count != description.shapes.count {
            throw InferenceError(.malformedModel, "\(path): section 'quant' describes \(quantization.activations.count) activations; the graph has \(description.shapes.count)")
        }
        self.info = info
        self.plan = plan
        parameterCount = description.parameterCount
        labelsTSV = labels
        self.quantization = quantization
    }

    public var hasFP32: Bool { info.precisions.contains("fp32") }
    public var hasInt8: Bool { info.precisions.contains("int8") && quantization != nil }

    private func fp32Weights() throws(InferenceError) -> UnsafeMutablePointer<Float> {
        guard let s = sections.first(where: { $0.name == "weights.fp32" }) else {
            throw InferenceError(.malformedModel, "\(path): the file has no 'weights.fp32' section")
        }
        // The mapping is read-only; the engines only read weights, never write them.
        return UnsafeMutablePointer(mutating: (file.base + s.offset).assumingMemoryBound(to: Float.self))
    }

    /// The fp32 parameter arena (biases, the head, fp32 convolutions; every weight with
    /// `--keep-fp32`), in place in the mapping.
    func fp32Parameters() throws(InferenceError) -> UnsafePointer<Float> { UnsafePointer(try fp32Weights()) }

    /// The unpacked int8 weight arena, in place in the mapping.
    func int8WeightsPointer() throws(InferenceError) -> UnsafePointer<Int8> {
        guard let quantization, let s = sections.first(where: { $0.name == "weights.int8" }) else {
            throw InferenceError(.unsupported, "\(path): the file has no int8 weights (compile with --int8 --calibrate DIR)")
        }
        guard s.size >= quantization.int8Count else {
            throw InferenceError(.malformedModel, "\(path): section 'weights.int8' (offset \(s.offset)) holds \(s.size) bytes; the quantisation needs \(quantization.int8Count)")
        }
        return UnsafePointer((file.base + s.offset).assumingMemoryBound(to: Int8.self))
    }

    /// The fp32 engine: each convolution's weights packed from the mapping (its pages dropped
    /// once packed), biases and the head copied; nothing in the mapping is read afterwards.
    public func fp32Network() throws(InferenceError) -> Network {
        guard hasFP32 else {
            throw InferenceError(.unsupported, "\(path): compiled for int8 only (recompile with --keep-fp32 to run it in fp32)")
        }
        let file = self.file
        let weights = try fp32Weights()
        let network = Network.packedOnly(plan, source: weights, release: { file.release($0, $1) })
        file.release(weights, parameterCount * MemoryLayout<Float>.stride)
        return network
    }

    /// The int8 engine: int8 weights packed for this CPU's kernel (each conv's mapped pages
    /// dropped once packed); biases and the fp32 head used in place.
    public func int8Network() throws(InferenceError) -> QuantizedNetwork {
        guard hasInt8, let quantization, let s = sections.first(where: { $0.name == "weights.int8" }) else {
            throw InferenceError(.unsupported, "\(path): the file has no int8 weights (compile with --int8 --calibrate DIR)")
        }
        guard s.size >= quantization.int8Count else {
            throw InferenceError(.malformedModel, "\(path): section 'weights.int8' (offset \(s.offset)) holds \(s.size) bytes; the quantisation needs \(quantization.int8Count)")
        }
        let file = self.file
        return try QuantizedNetwork(plan: plan, quantization: quantization, parameters: try fp32Weights(), parameterCount: parameterCount,
                                    int8: (file.base + s.offset).assumingMemoryBound(to: Int8.self), owner: file,
                                    released: { file.release($0, $1) })
    }

    /// One line per layer: kind, output shape, precision and (int8) output scale / zero point.
    public var layerDescriptions: [String] {
        plan.layers.enumerated().map { index, layer in
            var text = "\(layer.name) -> \(plan.shapes[layer.output])"
            if case .conv(let c) = layer {
                let int8 = quantization?.convs.contains { $0.layer == index } ?? false
                text += " [\(int8 ? "int8" : "fp32") \((int8 ? c.strategy.withoutWinograd : c.strategy).rawValue)\(c.residual != nil ? " +residual" : "")\(c.relu ? " +relu" : "")]"
                text += " weights \(c.outChannels)x\(c.reduction)"
            }
            if let q = quantization?.activations[layer.output] {
                text += String(format: " u8 scale %.5g zp %d", q.scale, q.zeroPoint)
            } else if case .conv = layer, quantization?.convs.contains(where: { $0.layer == index }) == true {
                text += " fp32, added before the next requantisation"
            }
            return text
        }
    }

    /// Compiles `network` (loaded from `onnxPath`) into one `.sbm` file at `output`.
    /// - Parameters:
    ///   - int8: the quantised weights to store (nil: fp32 only).
    ///   - keepFP32: with int8, also store the full fp32 weights (so the file runs either way).
    /// - Throws: `InferenceError` when the file cannot be written.
    public static func write(network: Network, onnxPath: String, int8: Int8Model?, keepFP32: Bool,
                             info: CompiledModelInfo, labelsTSV: String, to output: String) throws(InferenceError) {
        try write(network: network, onnxPath: onnxPath, int8: int8, keepFP32: keepFP32, info: info, labelsTSV: labelsTSV,
                  to: output, formatVersion: ModelFile.version)
    }

    /// As above, writing `formatVersion` into the header (tests write version-1 files with it).
    static func write(network: Network, onnxPath: String, int8: Int8Model?, keepFP32: Bool,
                      info: CompiledModelInfo, labelsTSV: String, to output: String, formatVersion: UInt32) throws(InferenceError) {
        guard network.keepsSourceWeights else {
            throw InferenceError(.unsupported, "\(output): the network was loaded inferenceOnly (its convolution weights were dropped); load it with inferenceOnly: false to compile it")
        }
        let full = network.plan
        var plan = full
        if let int8, !keepFP32 { plan = full.compactedForInt8(int8Layers: Set(int8.quantization.convs.map(\.layer))) }
        var info = info
        info.precisions = (int8 == nil || keepFP32 ? ["fp32"] : []) + (int8 == nil ? [] : ["int8"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var sections: [(String, Data)] = []
        do {
            sections.append(("meta", try encoder.encode(info)))
            sections.append(("graph", try encoder.encode(PlanDescription(plan, parameterCount: plan.parameters.count))))
            sections.append(("labels", Data(labelsTSV.utf8)))
            if let int8 { sections.append(("quant", try encoder.encode(int8.quantization))) }
        } catch {
            throw InferenceError(.invalidGraph, "\(output): cannot encode the model description: \(error)")
        }
        sections.append(("weights.fp32", plan.parameters.withUnsafeBytes { Data($0) }))
        if let int8 { sections.append(("weights.int8", int8.weights.withUnsafeBytes { Data($0) })) }
        try ModelFile.write(sections, to: output, version: formatVersion)
    }
}
