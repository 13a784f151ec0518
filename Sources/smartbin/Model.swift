import ArgumentParser
import Foundation
import Imaging
import Inference
import SmartBinApp

/// `smartbin model`: compile an ONNX model into a `.sbm` file, or describe one.
struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile ONNX models into SmartBin's compiled model files (.sbm) and inspect them.",
        subcommands: [Compile.self, Inspect.self, ExportQDQ.self, Trace.self])

    struct Compile: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile M.onnx (BN folded, labels and preprocessing embedded, optionally int8) into one checksummed, memory-mappable file.")

        @Argument(help: "The ONNX model.")
        var onnx: String

        @Option(help: "Labels: a .tsv label map or one label per line (default: built-in map by output count).")
        var labels: String?

        @Option(help: "Bin map: 'label<TAB>bin' lines overriding the labels' bins ('-' for none).")
        var bins: String?

        @Option(help: "Preprocessing: torch or caffe (default: caffe for NHWC (Keras) models, torch otherwise).")
        var preset: ChannelPreset?

        @Flag(help: "Quantise to int8 (needs --calibrate).")
        var int8 = false

        @Option(help: "Folder of JPEG calibration photos, searched recursively.")
        var calibrate: String?

        @Option(name: .customLong("calibration-images"), help: "At most this many calibration photos (evenly sampled).")
        var calibrationImages = 200

        @Option(help: "Activation range method: auto (measure minmax, percentile-99.99, percentile-99.999, mse, sqnr; keep the best), minmax, mse, sqnr, or percentile-P.")
        var ranges = "auto"

        @Flag(name: .customLong("no-bias-correction"), help: "Keep the fp32 biases (default: correct each int8 layer's bias for the mean shift quantisation causes, measured on the calibration photos).")
        var noBiasCorrection = false

        @Flag(name: .customLong("quantize-projections"), help: "Round projection shortcuts to uint8 (default: add them to their block's output in fp32, before it is requantised).")
        var quantizeProjections = false

        @Flag(name: .customLong("int8-first-conv"), help: "Quantise the first convolution to int8 too (default: it is not; it runs on the image's bytes in int16 where the CPU has AVX-512 VNNI, else in fp32, which measurably helps fidelity).")
        var int8FirstConv = false

        @Flag(name: .customLong("keep-fp32"), help: "With --int8, also store the fp32 weights (the file then runs with --precision fp32 too).")
        var keepFP32 = false

        @Option(name: .shortAndLong, help: "Output file (.sbm).")
        var output: String

        func validate() throws {
            if int8 && calibrate == nil { throw ValidationError("--int8 needs --calibrate DIR") }
            if !int8 && calibrate != nil { throw ValidationError("--calibrate is only used with --int8") }
            if calibrationImages < 1 { throw ValidationError("--calibration-images must be at least 1") }
            if method == nil && ranges != "auto" { throw ValidationError("--ranges: expected auto, minmax, mse, sqnr or percentile-P (e.g. percentile-99.99)") }
        }

        var method: RangeMethod? {
            switch ranges {
            case "minmax": return .minMax
            case "mse": return .mse
            case "sqnr": return .sqnr
            default:
                if ranges.hasPrefix("percentile-"), let p = Double(ranges.dropFirst("percentile-".count)), p > 50, p <= 100 { return .percentile(p / 100) }
                return nil
            }
        }

        func run() throws {
            var o = ModelCompiler.Options(onnx: onnx, output: output)
            o.labels = labels; o.bins = bins; o.preset = preset; o.int8 = int8; o.calibrate = calibrate
            o.calibrationLimit = calibrationImages; o.keepFP32 = keepFP32; o.firstConvFP32 = !int8FirstConv
            o.method = ranges == "auto" ? nil : method
            o.biasCorrection = !noBiasCorrection; o.quantizeProjections = quantizeProjections
            let start = Date()
            do {
                let (info, _) = try ModelCompiler.compile(o) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
                let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
                print(String(format: "%@: %@, %.1f MB, compiled in %.1f s", output, info.precisions.joined(separator: "+"),
                             Double(size) / 1e6, Date().timeIntervalSince(start)))
            } catch { throw fail("\(error)") }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe a compiled model: sections, layers, shapes, precision, sizes, calibration.")

        @Argument(help: "The compiled model (.sbm).")
        var model: String

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            let m: CompiledModel
            do { m = try CompiledModel(path: model) } catch { throw fail("\(error)") }
            let q = m.quantization
            if json {
                var object: [String: Any] = [
                    "name": m.info.name, "format_version": m.formatVersion, "source_sha256": m.info.sourceSHA256, "source_file": m.info.sourceFile,
                    "precisions": m.info.precisions, "preset": m.info.preset, "resize": m.info.resize,
                    "input": [m.inputShape.channels, m.inputShape.height, m.inputShape.width], "outputs": m.outputCount,
                    "sections": m.sections.map { ["name": $0.name, "offset": $0.offset, "size": $0.size, "crc32": String(format: "%08x", $0.crc32)] },
                    "layers": m.layerDescriptions,
                ]
                if let c = q?.calibration {
                    object["calibration"] = ["images": c.images, "method": c.method, "first_conv_fp32": c.firstConvFP32,
                                             "bias_correction": c.biasCorrection ?? false, "projections_fp32": c.projectionsFP32 ?? false,
                                             "candidates": c.candidates.map { ["method": $0.method, "min_cosine": $0.minCosine, "median_cosine": $0.medianCosine as Any,
                                                                               "mean_cosine": $0.meanCosine, "top1_agreement": $0.top1Agreement] }]
                }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("\(model): \(m.info.name), \(m.info.precisions.joined(separator: "+")), input \(m.inputShape) (\(m.inputLayout.rawValue) source), \(m.outputCount) outputs, format \(m.formatVersion)")
            print("source: \(m.info.sourceFile) sha256 \(m.info.sourceSHA256)")
            print("preprocessing: preset \(m.info.preset), resize \(m.info.resize)")
            print("sections:")
            for s in m.sections { print(String(format: "  %-13@ offset %10d  size %10d  crc32 %08x", s.name, s.offset, s.size, s.crc32)) }
            if let c = q?.calibration {
                print("calibration: \(c.images) images, ranges \(c.method), first conv \(c.firstConvFP32 ? "fp32" : "int8"), bias correction \(c.biasCorrection == true ? "on" : "off"), projection shortcuts \(c.projectionsFP32 == true ? "added in fp32" : "uint8")")
                for k in c.candidates {
                    print(String(format: "  %-18@ cosine min %.5f median %.5f mean %.5f  top-1 agreement %.1f%%", k.method, k.minCosine, k.medianCosine ?? .nan,
                                 k.meanCosine, k.top1Agreement * 100))
                }
            }
            print("layers:")
            for (i, line) in m.layerDescriptions.enumerated() { print(String(format: "  %3d  %@", i, line)) }
        }
    }

    struct ExportQDQ: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-qdq",
            abstract: "Write a compiled int8 model as an ONNX QDQ graph: QuantizeLinear/DequantizeLinear with exactly its scales, zero points, int8 weights and int32 biases, placed where the int8 engine quantises (tools/qdq_check.py runs it in ONNX Runtime).")

        @Argument(help: "The compiled model (.sbm) with int8 weights.")
        var model: String

        @Option(name: .shortAndLong, help: "Output file (.onnx): input 'input' NCHW float32 1x3xHxW, outputs 'output' and 'logits'.")
        var output: String

        func run() throws {
            do {
                let compiled = try CompiledModel(path: model)
                try QDQExport.write(compiled, to: output)
                let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
                print(String(format: "%@: QDQ ONNX (opset 13) of %@, %.1f MB", output, model, Double(size) / 1e6))
            } catch { throw fail("\(error)") }
        }
    }

    struct Trace: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a compiled model's int8 engine on one preprocessed tensor and write every uint8 activation (named as in export-qdq) and the logits as .npy files.")

        @Argument(help: "The compiled model (.sbm) with int8 weights.")
        var model: String

        @Option(name: .customLong("input-npy"), help: "A float32 .npy tensor (1x3xHxW, NCHW, already preprocessed).")
        var inputNPY: String

        @Option(name: .shortAndLong, help: "Folder for <tensor>.npy (uint8, 1xCxHxW), logits.npy (float32) and trace.json (the tensor names in the order produced).")
        var output: String

        func run() throws {
            do {
                let compiled = try CompiledModel(path: model)
                let engine = try compiled.int8Network()
                let (shape, values) = try NPY.read(inputNPY)
                let want = compiled.inputShape
                guard values.count == want.count, shape.suffix(3) == [want.channels, want.height, want.width] else {
                    throw AppError("\(inputNPY): tensor shape \(shape) does not match the model input 1x\(want.channels)x\(want.height)x\(want.width) (NCHW)")
                }
                let trace = try engine.trace(values)
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                for a in trace.activations { try NPY.write(a.codes, shape: a.shape, to: output + "/" + a.name + ".npy") }
                try NPY.write(trace.logits, shape: [1, trace.logits.count], to: output + "/logits.npy")
                let index: [String: Any] = ["model": model, "input": inputNPY, "activations": trace.activations.map(\.name), "logits": "logits"]
                try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes])
                    .write(to: URL(fileURLWithPath: output + "/trace.json"))
                print("\(output): \(trace.activations.count) uint8 activations and logits (\(trace.logits.count))")
            } catch { throw fail("\(error)") }
        }
    }
}
