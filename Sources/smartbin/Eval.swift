import ArgumentParser
import Foundation
import Imaging
import SmartBinApp

/// `smartbin eval`: accuracy over a labelled folder (the TrashNet layout: one sub-folder per class).
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Top-1/top-5 error, per-class precision and recall and a confusion matrix over a labelled image folder.")

    @Option(help: "Model file (.onnx).")
    var model: String

    @Option(help: "Labels (.tsv map or one label per line; default: built-in map by output count).")
    var labels: String?

    @Option(help: "Preprocessing preset (torch or caffe; default by model).")
    var preset: ChannelPreset?

    @Option(help: "Write the confusion matrix as an SVG plot here.")
    var plot: String?

    @Option(help: "Threads for inference.")
    var threads: Int = 1

    @Argument(help: "Folder with one sub-folder of JPEGs per class, named like the model's labels.")
    var directory: String

    func run() throws {
        let loaded: LoadedModel
        do { loaded = try LoadedModel(path: model, labelsPath: labels, preset: preset, threads: threads) } catch { throw fail("\(error)") }
        let names = loaded.labels.labels
        var entries: [(path: String, truth: Int)] = []
        let folders: [String]
        do {
            folders = try FileManager.default.contentsOfDirectory(atPath: directory).sorted().filter { name in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory) && isDirectory.boolValue
            }
        } catch { throw fail("\(directory): cannot list the folder (\(error.localizedDescription))") }
        guard !folders.isEmpty else { throw fail("\(directory): no class sub-folders (expected e.g. \(directory)/glass/*.jpg)") }
        for folder in folders {
            let english = loaded.labels.entries.firstIndex { $0.english == folder }
            guard let truth = names.firstIndex(of: folder) ?? english else {
                throw fail("\(directory)/\(folder): not one of the model's labels (\(names.prefix(10).joined(separator: ", "))\(names.count > 10 ? ", …" : ""))")
            }
            let files = (FileManager.default.enumerator(atPath: directory + "/" + folder)?.allObjects as? [String] ?? [])
                .filter { ["jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            entries += files.map { (directory + "/" + folder + "/" + $0, truth) }
        }
        guard !entries.isEmpty else { throw fail("\(directory): no JPEG images in the class folders") }

        var evaluation = Evaluation(labels: names)
        let interactive = isatty(STDERR_FILENO) != 0
        var skipped: [String] = []
        for (index, entry) in entries.enumerated() {
            do {
                let output = try loaded.run(image: try JPEG.decode(contentsOf: entry.path)).output
                let ranking = output.indices.sorted { output[$0] > output[$1] }
                evaluation.add(truth: entry.truth, ranking: ranking)
            } catch {
                skipped.append("\(error)")
            }
            if interactive {
                let done = index + 1, width = 30
                let filled = width * done / entries.count
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(entries.count)".utf8))
            }
        }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        print(evaluation.report)
        if !skipped.isEmpty {
            print("\n\(skipped.count) image(s) skipped:")
            skipped.forEach { print("  \($0)") }
        }
        if let plot {
            do { try evaluation.svg.write(toFile: plot, atomically: true, encoding: .utf8) } catch { throw fail("\(plot): cannot write the plot (\(error.localizedDescription))") }
            print("\nconfusion matrix plot: \(plot)")
        }
    }
}
