import BinCore
import Foundation

/// Finds the labels for a model: an explicit file, or a built-in map chosen by output count.
public enum LabelCatalog {
    /// Built-in maps by number of model outputs.
    public static func builtin(outputs: Int) -> (name: String, text: String)? {
        switch outputs {
        case 6: return ("trashnet", BuiltinMaps.trashnet)
        case 40: return ("garbage_classify", BuiltinMaps.garbageClassify)
        default: return nil
        }
    }

    /// Labels for a model with `outputs` classes.
    /// - Parameters:
    ///   - file: a `.tsv` label map (`index<TAB>label<TAB>bin<TAB>english`) or a plain labels file
    ///     (one label per line); nil for the built-in map.
    ///   - model: the model's path, for error messages.
    /// - Throws: when the file is unreadable, malformed, or its count differs from the model's.
    public static func labels(for outputs: Int, file: String?, model: String) throws -> LabelMap {
        let map: LabelMap
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw AppError("\(file): cannot read labels file (\(error.localizedDescription))")
            }
            if file.hasSuffix(".tsv") {
                map = try LabelMap.parse(text, file: file)
            } else {
                map = LabelMap(labels: try LabelsFile.parse(text, file: file))
            }
            guard map.count == outputs else {
                throw AppError("\(file): has \(map.count) labels but \(model) has \(outputs) outputs")
            }
            return map
        }
        if let builtin = builtin(outputs: outputs) {
            return try LabelMap.parse(builtin.text, file: "built-in \(builtin.name) map")
        }
        return LabelMap(labels: (0..<outputs).map { "class_\($0)" })
    }
}
