import Dispatch
import Foundation
import Inference
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Installs new models into a running bin, and rolls back.
///
/// Models are ONNX files (`.onnx`) or compiled models (`.sbm`, `smartbin model compile`); a file
/// sent in chunks is told apart by the compiled format's magic (`SBMODEL`). Layout under the
/// models folder (`<data_dir>/models`):
/// - `current.onnx` → a symlink to the model in use, `.onnx` or `.sbm` (the link keeps its name;
///   the target's extension says how to load it). It survives restarts: `run`/`simulate` load it
///   in preference to `model.path`, which is only the first model;
/// - `previous.onnx` → a symlink to the one before, for `rollback_model`;
/// - `incoming/` → drop `X.onnx` (or `X.sbm`), then `X.onnx.sha256` (`X.sbm.sha256`,
///   `sha256sum` output); the sidecar's arrival starts the install.
///
/// A candidate is checked in this order, and refused (the running model kept) at the first
/// failure: size bound, SHA-256 against the expected digest, loads as a model, has the same
/// classes as the running one (routing must not change under the bin's feet), one forward pass
/// gives finite numbers. Only then are the symlinks swapped (each by an atomic `rename`) and the
/// `ModelSlot` switched. All work runs on one serial queue of its own: hashing and loading a
/// 100 MB model blocks for seconds and must not sit on Swift's cooperative pool.
public final class ModelUpdater: @unchecked Sendable {
    // @unchecked: `transfer` is only touched on `queue`.

    /// The answer to a command, published on `…/cmd/<name>/result`.
    public struct Outcome: Sendable, Equatable {
        public var ok: Bool
        /// The digest of the model the command was about.
        public var sha256: String?
        /// Why it was refused, or a note (`already in use`).
        public var reason: String?
        /// The digest of the model in use after the command.
        public var inUse: String
        /// Extra context: `transfer` id, `source` file.
        public var context: [String: String] = [:]

        /// Compact JSON: `{"ok":…,"sha256":…,"reason":…,"in_use":…}` plus the context keys.
        public var json: [UInt8] {
            var object: [String: Any] = ["ok": ok, "sha256": sha256 ?? NSNull(), "reason": reason ?? NSNull(), "in_use": inUse]
            for (key, value) in context { object[key] = value }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{\"ok\":false}".utf8)
            return Array(data)
        }
    }

    /// A chunked transfer in progress.
    private struct Transfer {
        var id: String
        var sha256: String
        var count: Int
        var next: Int
        var bytes: Int
        var path: String
    }

    public let slot: ModelSlot
    public let modelsDirectory: String
    public let limits: ModelCommand.Limits
    private let load: @Sendable (String) throws -> LoadedModel
    private let logger: Logger
    private let queue = DispatchQueue(label: "smartbin.model-update")
    private var transfer: Transfer?

    /// - Parameters:
    ///   - modelsDirectory: `<data_dir>/models` (created with `incoming/` if missing).
    ///   - load: loads a model file with the configured labels, preset and threads.
    public init(slot: ModelSlot, modelsDirectory: String, limits: ModelCommand.Limits = .init(),
                logger: Logger, load: @escaping @Sendable (String) throws -> LoadedModel) throws {
        self.slot = slot
        self.modelsDirectory = modelsDirectory
        self.limits = limits
        self.logger = logger
        self.load = load
        do {
            try FileManager.default.createDirectory(atPath: modelsDirectory + "/incoming", withIntermediateDirectories: true)
        } catch {
            throw AppError("\(modelsDirectory)/incoming: cannot create the model drop folder (\(error.localizedDescription))")
        }
    }

    public var currentLink: String { modelsDirectory + "/current.onnx" }
    public var previousLink: String { modelsDirectory + "/previous.onnx" }
    public var incomingDirectory: String { modelsDirectory + "/incoming" }

    /// The model file a start-up should load: `current.onnx`'s target when a previous update
    /// installed one, else nil (use `model.path`).
    public static func installedModel(modelsDirectory: String) -> String? {
        let link = modelsDirectory + "/current.onnx"
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { return nil }
        let absolute = target.hasPrefix("/") ? target : modelsDirectory + "/" + target
        return FileManager.default.fileExists(atPath: absolute) ? absolute : nil
    }

    /// Handles one command payload. Returns nil for an accepted chunk that is not the last one
    /// (no answer is published for those), else the outcome to publish.
    public func handle(name: String, payload: [UInt8]) async -> Outcome? {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.handleOnQueue(name: name, payload: payload)) }
        }
    }

    /// Installs every model whose `.sha256` sidecar has arrived in `incoming/`.
    public func scanIncoming() async -> [Outcome] {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.scanOnQueue()) }
        }
    }

    // MARK: On the queue

    private func handleOnQueue(name: String, payload: [UInt8]) -> Outcome? {
        let command: ModelCommand
        do { command = try ModelCommand.parse(name: name, payload: payload, limits: limits) } catch {
            return refuse(nil, "\(error)")
        }
        switch command {
        case .rollback:
            return rollback()
        case .install(let path, let sha256):
            let standard = (path as NSString).standardizingPath
            guard standard.hasPrefix(modelsDirectory + "/"), !standard.hasPrefix(incomingDirectory + "/"),
                  !path.split(separator: "/").contains(".."), Self.modelExtension(of: standard) != nil,
                  standard != currentLink, standard != previousLink else {
                return refuse(sha256, "path must name an .onnx or .sbm file in \(modelsDirectory)/ (not current/previous, not incoming/)")
            }
            return install(candidate: standard, sha256: sha256, destination: nil)
        case .chunk(let id, let index, let count, let data, let sha256):
            return chunk(id: id, index: index, count: count, data: data, sha256: sha256)
        }
    }

    private func chunk(id: String, index: Int, count: Int, data: [UInt8], sha256: String) -> Outcome? {
        let context = ["transfer": id]
        if index == 0 {
            abortTransfer()
            let path = incomingDirectory + "/.transfer-\(id).part"
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                return refuse(sha256, "cannot create \(path)", context)
            }
            transfer = Transfer(id: id, sha256: sha256, count: count, next: 0, bytes: 0, path: path)
        }
        guard var current = transfer, current.id == id else {
            return refuse(sha256, "chunk \(index) of unknown transfer '\(id)' (a transfer starts with chunk 0)", context)
        }
        if index == current.next - 1 { return nil }  // QoS 1 redelivery of the chunk just written
        guard index == current.next, count == current.count, sha256 == current.sha256 else {
            abortTransfer()
            return refuse(sha256, "chunk \(index)/\(count) out of order or inconsistent: expected chunk \(current.next)/\(current.count) with the same sha256; transfer dropped", context)
        }
        guard current.bytes + data.count <= limits.modelBytes else {
            abortTransfer()
            return refuse(sha256, "model exceeds \(limits.modelBytes) bytes; transfer dropped", context)
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: current.path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
            if index == count - 1 { try handle.synchronize() }
        } catch {
            abortTransfer()
            return refuse(sha256, "cannot write \(current.path): \(error.localizedDescription); transfer dropped", context)
        }
        current.next += 1
        current.bytes += data.count
        transfer = current
        guard index == count - 1 else { return nil }
        transfer = nil
        var outcome = install(candidate: current.path, sha256: sha256, destination: id + Self.sniffedExtension(current.path))
        outcome.context.merge(context) { $1 }
        try? FileManager.default.removeItem(atPath: current.path)
        return outcome
    }

    private func abortTransfer() {
        if let transfer { try? FileManager.default.removeItem(atPath: transfer.path) }
        transfer = nil
    }

    private func scanOnQueue() -> [Outcome] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: incomingDirectory) else { return [] }
        var outcomes: [Outcome] = []
        for sidecar in names.sorted() where sidecar.hasSuffix(".sha256") && Self.modelExtension(of: String(sidecar.dropLast(".sha256".count))) != nil {
            let model = String(sidecar.dropLast(".sha256".count))
            let sidecarPath = incomingDirectory + "/" + sidecar
            let modelPath = incomingDirectory + "/" + model
            defer { try? FileManager.default.removeItem(atPath: sidecarPath) }
            let context = ["source": "incoming/" + model]
            let text = (try? String(contentsOfFile: sidecarPath, encoding: .utf8)) ?? ""
            let digest = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).first.map(String.init) ?? ""
            guard digest.utf8.count == 64, digest.allSatisfy(\.isHexDigit) else {
                outcomes.append(refuse(nil, "\(sidecar): expected 64 hexadecimal digits (sha256sum output)", context))
                continue
            }
            guard FileManager.default.fileExists(atPath: modelPath) else {
                outcomes.append(refuse(digest.lowercased(), "\(sidecar) arrived but \(model) is not in incoming/", context))
                continue
            }
            var outcome = install(candidate: modelPath, sha256: digest.lowercased(), destination: model)
            outcome.context.merge(context) { $1 }
            if FileManager.default.fileExists(atPath: modelPath) {
                // Refused: keep the file for inspection, out of the way of the next scan.
                try? FileManager.default.removeItem(atPath: modelPath + ".rejected")
                try? FileManager.default.moveItem(atPath: modelPath, toPath: modelPath + ".rejected")
            }
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// Verifies, loads and switches to `candidate`. When `destination` is set the candidate is
    /// moved to `<models>/<destination>` (made unique by its digest if that name is taken).
    private func install(candidate: String, sha256: String, destination: String?) -> Outcome {
        let fm = FileManager.default
        guard let attributes = try? fm.attributesOfItem(atPath: candidate),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            return refuse(sha256, "\(candidate) is not a regular file")
        }
        guard size <= limits.modelBytes else { return refuse(sha256, "\(candidate) is \(size) bytes; the limit is \(limits.modelBytes)") }
        let actual: String
        do { actual = try SHA256.hex(ofFile: candidate) } catch { return refuse(sha256, "cannot read \(candidate): \(error)") }
        guard actual == sha256 else {
            return refuse(sha256, "sha256 mismatch: expected \(sha256), the file has \(actual)")
        }
        let running = slot.current
        if actual == running.info.sha256 {
            if destination != nil { try? fm.removeItem(atPath: candidate) }
            return Outcome(ok: true, sha256: actual, reason: "already in use", inUse: actual)
        }
        var path = candidate
        if let destination {
            var target = modelsDirectory + "/" + destination
            if fm.fileExists(atPath: target), (try? SHA256.hex(ofFile: target)) != actual {
                let name = destination as NSString
                target = modelsDirectory + "/" + name.deletingPathExtension + "-" + actual.prefix(12) + "." + name.pathExtension
            }
            guard rename(candidate, target) == 0 else {
                return refuse(sha256, "cannot move \(candidate) to \(target): \(String(cString: strerror(errno)))")
            }
            path = target
        }
        let loaded: LoadedModel
        switch prove(path, running: running) {
        case .success(let model): loaded = model
        case .failure(let error):
            if destination != nil { try? fm.moveItem(atPath: path, toPath: candidate) }  // back where it came from
            return refuse(sha256, "\(error)")
        }
        // Swap: previous → what runs now, current → the new file. Each link replaced by rename(2).
        let dropped = try? fm.destinationOfSymbolicLink(atPath: previousLink)
        do {
            try relink(previousLink, to: Self.installedModel(modelsDirectory: modelsDirectory) ?? running.path)
            try relink(currentLink, to: path)
        } catch {
            return refuse(sha256, "\(error)")
        }
        slot.replace(with: loaded)
        logger.info("model updated", metadata: ["sha256": "\(actual)", "file": "\(path)", "previous": "\(running.info.sha256)"])
        // Keep two models: delete the one that just stopped being `previous` if we own it.
        if let dropped, dropped.hasPrefix(modelsDirectory + "/"), dropped != path, dropped != running.path {
            try? fm.removeItem(atPath: dropped)
        }
        return Outcome(ok: true, sha256: actual, reason: nil, inUse: actual)
    }

    private func rollback() -> Outcome {
        let running = slot.current
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: previousLink) else {
            return refuse(nil, "no previous model to roll back to")
        }
        let loaded: LoadedModel
        switch prove(target, running: running) {
        case .success(let model): loaded = model
        case .failure(let error): return refuse(nil, "previous model \(target): \(error)")
        }
        do {
            try relink(previousLink, to: Self.installedModel(modelsDirectory: modelsDirectory) ?? running.path)
            try relink(currentLink, to: target)
        } catch {
            return refuse(loaded.info.sha256, "\(error)")
        }
        slot.replace(with: loaded)
        logger.info("model rolled back", metadata: ["sha256": "\(loaded.info.sha256)", "file": "\(target)"])
        return Outcome(ok: true, sha256: loaded.info.sha256, reason: nil, inUse: loaded.info.sha256)
    }

    /// Loads `path` and runs one forward pass on a zero input; the classes must match `running`'s.
    private func prove(_ path: String, running: LoadedModel) -> Result<LoadedModel, AppError> {
        let loaded: LoadedModel
        do { loaded = try load(path) } catch { return .failure(AppError("does not load as a model: \(error)")) }
        guard loaded.labels == running.labels else {
            return .failure(AppError("its \(loaded.outputCount) classes differ from the running model's \(running.outputCount) (routing would change); set model.labels and restart instead"))
        }
        do {
            let output = try loaded.run(tensor: [Float](repeating: 0, count: loaded.inputShape.count))
            guard output.count == loaded.outputCount, output.allSatisfy(\.isFinite) else {
                return .failure(AppError("a forward pass on a zero input gave non-finite scores"))
            }
        } catch {
            return .failure(AppError("a forward pass failed: \(error)"))
        }
        return .success(loaded)
    }

    /// Points symlink `link` at `target` atomically: a new link beside it, renamed over it, then
    /// the folder synced.
    private func relink(_ link: String, to target: String) throws {
        let temporary = link + ".tmp"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else {
            throw AppError("cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, link) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AppError("cannot replace \(link): \(reason)")
        }
        let fd = open(modelsDirectory, O_RDONLY)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    /// `.onnx` or `.sbm` when `path` names a model file by its extension, else nil.
    static func modelExtension(of path: String) -> String? {
        let found = (path as NSString).pathExtension
        return found == "onnx" || found == "sbm" ? "." + found : nil
    }

    /// `.sbm` when the file starts with the compiled format's magic, else `.onnx` (which the load
    /// then checks).
    static func sniffedExtension(_ path: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ".onnx" }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: ModelFile.magic.count)) ?? Data()
        return Array(head) == ModelFile.magic ? ".sbm" : ".onnx"
    }

    private func refuse(_ sha256: String?, _ reason: String, _ context: [String: String] = [:]) -> Outcome {
        logger.warning("model command refused", metadata: ["reason": "\(reason)"])
        return Outcome(ok: false, sha256: sha256, reason: reason, inUse: slot.current.info.sha256, context: context)
    }
}
