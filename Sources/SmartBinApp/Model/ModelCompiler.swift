import BinCore
import Foundation
import Imaging
import Inference

/// `smartbin model compile`: an ONNX model plus labels (and, for int8, calibration photos) into
/// one compiled `.sbm` file (layout in `Inference.ModelFile`).
public enum ModelCompiler {
    public struct Options: Sendable {
        public var onnx: String
        public var output: String
        public var labels: String?
        /// A TSV of `label<TAB>bin` lines overriding the labels' bins.
        public var bins: String?
        public var preset: ChannelPreset?
        public var int8 = false
        /// Folder searched recursively for JPEG calibration photos (required with `int8`).
        public var calibrate: String?
        /// At most this many calibration photos (sorted by path, evenly sampled).
        public var calibrationLimit = 200
        public var keepFP32 = false
        /// Keep the first convolution (the one reading the image) in fp32.
        public var firstConvFP32 = true
        /// nil: try every `Int8Calibration.candidates` method and keep the best.
        public var method: RangeMethod?
        /// Correct the int8 layers' biases for quantisation's mean shift (`BiasCorrection`).
        public var biasCorrection = true
        /// Round projection shortcuts to uint8 instead of adding them in fp32 before requantisation.
        public var quantizeProjections = false

        public init(onnx: String, output: String) {
            self.onnx = onnx
            self.output = output
        }
    }

    /// Compiles and returns the compiled model's info plus the calibration summary (int8).
    /// `log` receives progress lines.
    public static func compile(_ o: Options, log: (String) -> Void = { _ in }) throws -> (CompiledModelInfo, CalibrationSummary?) {
        let network = try Network.load(onnx: o.onnx)
        let map = try labelMap(o, outputs: network.outputCount)
        let preset = o.preset ?? (network.inputLayout == .nhwc ? .caffe : .torch)
        let shape = network.inputShape
        let resize = "crop:\(256 * shape.width / 224):\(shape.width)"
        var int8: Int8Model?
        if o.int8 {
            guard let folder = o.calibrate else { throw AppError("--int8 needs --calibrate DIR (a folder of JPEG photos like the bin will see)") }
            let photos = try calibrationPhotos(folder, limit: o.calibrationLimit)
            log("calibrating on \(photos.count) photos from \(folder) (preset \(preset.rawValue))")
            let pre = Preprocessor(preset: preset, resize: LoadedModel.resizeMode(resize) ?? .standard)
            let inputs = try photos.map { pre.tensor(from: try JPEG.decode(contentsOf: $0)) }
            var options = Int8Calibration.Options()
            options.firstConvFP32 = o.firstConvFP32
            options.biasCorrection = o.biasCorrection
            options.quantizeProjections = o.quantizeProjections
            int8 = try Int8Calibration.quantize(network: network, inputs: inputs,
                                                candidates: o.method.map { [$0] } ?? Int8Calibration.candidates, options: options)
            if let summary = int8?.quantization.calibration {
                for c in summary.candidates {
                    log(String(format: "  %@: cosine min %.5f median %.5f mean %.5f, top-1 agreement %.1f%%", c.method, c.minCosine,
                               c.medianCosine ?? .nan, c.meanCosine, c.top1Agreement * 100))
                }
                log("chose \(summary.method)")
            }
        }
        let info = CompiledModelInfo(name: ((o.onnx as NSString).lastPathComponent as NSString).deletingPathExtension,
                                     sourceSHA256: try SHA256.hex(ofFile: o.onnx), sourceFile: (o.onnx as NSString).lastPathComponent,
                                     precisions: [], preset: preset.rawValue, resize: resize)
        try CompiledModel.write(network: network, onnxPath: o.onnx, int8: int8, keepFP32: o.keepFP32, info: info,
                                labelsTSV: tsv(map), to: o.output)
        let written = try CompiledModel(path: o.output)
        return (written.info, written.quantization?.calibration)
    }

    /// JPEG files under `folder` (recursively), sorted, at most `limit` evenly spaced.
    public static func calibrationPhotos(_ folder: String, limit: Int) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { throw AppError("\(folder): cannot read the calibration folder") }
        let all = walker.compactMap { $0 as? String }
            .filter { let l = $0.lowercased(); return l.hasSuffix(".jpg") || l.hasSuffix(".jpeg") }
            .sorted().map { folder + "/" + $0 }
        guard !all.isEmpty else { throw AppError("\(folder): no JPEG photos found for calibration") }
        guard all.count > limit else { return all }
        return (0..<limit).map { all[$0 * all.count / limit] }
    }

    static func labelMap(_ o: Options, outputs: Int) throws -> LabelMap {
        var map = try LabelCatalog.labels(for: outputs, file: o.labels, model: o.onnx)
        guard let bins = o.bins else { return map }
        let text: String
        do { text = try String(contentsOfFile: bins, encoding: .utf8) } catch { throw AppError("\(bins): cannot read the bin map (\(error.localizedDescription))") }
        var entries = map.entries
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 2, let index = entries.firstIndex(where: { $0.label == fields[0] }) else {
                throw AppError("\(bins):\(n + 1): expected 'label<TAB>bin' with a label of the model (\(map.labels.prefix(6).joined(separator: ", "))…)")
            }
            entries[index].bin = fields[1] == "-" ? nil : fields[1]
        }
        map = try LabelMap(entries: entries)
        return map
    }

    /// A label map as the 4-field TSV `LabelMap.parse` reads.
    static func tsv(_ map: LabelMap) -> String {
        map.entries.map { "\($0.index)\t\($0.label)\t\($0.bin ?? "-")\t\($0.english.isEmpty ? $0.label : $0.english)" }.joined(separator: "\n") + "\n"
    }
}
