import ArgumentParser
import BinCore
import Foundation
import Imaging
import Inference
import SmartBinApp

/// `smartbin classify`: top-k classes of images (or of a preprocessed tensor) with a model.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a model and print the top classes.")

    @Option(help: "Model file (.onnx or compiled .sbm).")
    var model: String

    @Option(help: "Labels: a .tsv label map or a file with one label per line (default: built-in map by output count).")
    var labels: String?

    @Option(help: "Preprocessing: torch (RGB/255, ImageNet mean/std) or caffe (Keras: BGR, mean subtraction). Default: caffe for NHWC (Keras) models, torch otherwise.")
    var preset: ChannelPreset?

    @Option(help: "Resize: 'crop' (shorter side to 256, centre crop 224) or 'direct' (straight to the input size). Default: the compiled model's, else crop.")
    var resize: ResizeChoice?

    @Option(help: "Engine: int8 or fp32 (default: int8 when a compiled model has int8 weights, else fp32).")
    var precision: Precision?

    @Option(help: "How many classes to print.")
    var top: Int = 5

    @Flag(help: "Print JSON: {\"predicted_label\": ..., \"scores\": [[label, score], ...]} (an array for several inputs).")
    var json = false

    @Flag(help: "With --json, add \"output\": the model's output vector as the graph computes it (no softmax added).")
    var raw = false

    @Option(name: .customLong("input-npy"), help: "A float32 .npy tensor (1x3xHxW, NCHW, already preprocessed) to run instead of an image.")
    var inputNPY: String?

    @Option(help: "BLAS threads.")
    var threads: Int = 1

    @Argument(help: "JPEG images.")
    var images: [String] = []

    func validate() throws {
        if images.isEmpty && inputNPY == nil { throw ValidationError("give at least one IMAGE or --input-npy FILE") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let loaded: LoadedModel
        do {
            loaded = try LoadedModel(path: model, labelsPath: labels, preset: preset, resize: resize?.mode, threads: threads,
                                     precision: precision?.rawValue)
        } catch {
            throw fail("\(error)")
        }
        var results: [[String: Any]] = []
        var lines: [String] = []
        var inputs: [(name: String, run: () throws -> [Float])] = []
        if let inputNPY {
            inputs.append((inputNPY, {
                let (shape, values) = try NPY.read(inputNPY)
                let want = loaded.inputShape
                guard values.count == want.count, shape.suffix(3) == [want.channels, want.height, want.width] else {
                    throw AppError("\(inputNPY): tensor shape \(shape) does not match the model input 1x\(want.channels)x\(want.height)x\(want.width) (NCHW)")
                }
                return try loaded.run(tensor: values)
            }))
        }
        for image in images {
            inputs.append((image, { try loaded.run(image: try JPEG.decode(contentsOf: image)).output }))
        }
        for (name, compute) in inputs {
            let output: [Float]
            do { output = try compute() } catch { throw fail("\(error)") }
            let result = loaded.classification(output, top: top)
            if json {
                var object: [String: Any] = [
                    "input": name,
                    "predicted_label": result.label,
                    "class_index": result.classIndex,
                    "precision": loaded.precision,
                    "scores": result.top.map { [$0.label, $0.score] as [Any] },
                ]
                if let bin = loaded.labels.entry(at: result.classIndex)?.bin { object["bin"] = bin }
                if raw { object["output"] = output.map(Double.init) }
                results.append(object)
            } else {
                lines.append("\(name): \(result.label) (\(String(format: "%.1f", result.confidence * 100))%)")
                for score in result.top {
                    lines.append(String(format: "  %7.4f  %@", score.score, score.label))
                }
            }
        }
        // Printed only once every input succeeded: a bad image later in the list leaves no
        // partial output, in text as in JSON.
        if json {
            let document: Any = results.count == 1 ? results[0] : results
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for line in lines { print(line) }
        }
    }
}

/// How images are brought to the model's input size.
enum ResizeChoice: String, ExpressibleByArgument, CaseIterable {
    case crop
    case direct

    var mode: ResizeMode {
        switch self {
        case .crop: return .shorterSideThenCenterCrop(shorter: 256, crop: 224)
        case .direct: return .direct(width: 224, height: 224)
        }
    }
}

extension ChannelPreset: ExpressibleByArgument {}

/// The engine a command runs.
enum Precision: String, ExpressibleByArgument, CaseIterable {
    case int8
    case fp32
}
