import BinCore
import Foundation

/// `cmd/reload_model`: `{}` reloads the model file in place (after a deployment replaced it), or
/// `{"path": "/var/lib/smartbin/models/bin-v2.onnx"}` loads another `.onnx` or compiled `.sbm`
/// file from the same directory as the configured model. A model that fails to load or check is not used: the old
/// one keeps running and the result says why.
public struct ReloadModelCommand: CommandHandler {
    public let name = "reload_model"
    public let schema = CommandSchema([.init("path", .string(maxLength: 1024, oneOf: nil))])
    let classifier: ReloadableClassifier
    /// The only directory `path` may point into.
    let modelDirectory: String

    public init(classifier: ReloadableClassifier) {
        self.classifier = classifier
        modelDirectory = (classifier.path as NSString).deletingLastPathComponent
    }

    public func handle(_ request: CommandRequest) async throws(CommandError) -> [String: CommandJSON] {
        var path: String?
        if let requested = request.string("path") {
            let standard = (requested as NSString).standardizingPath
            guard standard.hasPrefix("/"), (standard as NSString).deletingLastPathComponent == modelDirectory,
                  standard.hasSuffix(".onnx") || standard.hasSuffix(".sbm") else {
                throw CommandError(.invalid, "'path' must be an .onnx or .sbm file in \(modelDirectory)")
            }
            path = standard
        }
        let previous = classifier.model
        do {
            let model = try await classifier.reload(path: path)
            return ["model": Self.json(model), "previous_model": Self.json(previous)]
        } catch {
            throw CommandError(error.code, error.message + "; still running \(previous.name) (sha256 \(previous.sha256.prefix(12))…)")
        }
    }

    static func json(_ model: BinCore.ModelInfo) -> CommandJSON {
        .object(["name": .string(model.name), "sha256": .string(model.sha256), "precision": .string(model.precision)])
    }
}
