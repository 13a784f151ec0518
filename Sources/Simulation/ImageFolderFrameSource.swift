import BinCore
import Foundation
import Synchronization

/// Frames from the JPEG files under a folder (searched recursively, `.jpg`/`.jpeg` in any case,
/// sorted by path), in order and cycling, or shuffled with a seed (reshuffled each pass).
///
/// Decoding is injected (`(path) throws -> Frame`) so this module does not fix a JPEG decoder; the
/// app passes Imaging's, tests a fake. `capture()` decodes on the calling task (tens of ms for a
/// camera-sized JPEG). Each frame's `origin` is its path.
public final class ImageFolderFrameSource: FrameSource {
    public enum Order: Sendable, Hashable {
        case sequential
        case random(seed: UInt64)
    }

    /// The images found, sorted.
    public let paths: [String]
    public let order: Order
    private let decode: @Sendable (String) throws -> Frame
    private let state: Mutex<(queue: [String], generator: SeededGenerator)>

    /// - Throws: `SimulationError.unreadable` when the folder cannot be listed, `.noImages` when it
    ///   holds no JPEG.
    public init(directory: String, order: Order = .sequential,
                decode: @escaping @Sendable (String) throws -> Frame) throws(SimulationError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
              let enumerator = FileManager.default.enumerator(atPath: directory) else {
            throw SimulationError(.unreadable, "\(directory): not a readable folder")
        }
        var found: [String] = []
        for case let relative as String in enumerator {
            let lower = relative.lowercased()
            if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") {
                found.append((directory as NSString).appendingPathComponent(relative))
            }
        }
        guard !found.isEmpty else {
            throw SimulationError(.noImages, "\(directory): no .jpg or .jpeg files (searched recursively)")
        }
        paths = found.sorted()
        self.order = order
        self.decode = decode
        let seed: UInt64 = if case .random(let seed) = order { seed } else { 0 }
        state = Mutex(([], SeededGenerator(seed: seed)))
    }

    /// The path the next capture will use (advances the sequence).
    public func nextPath() -> String {
        let (paths, order) = (self.paths, self.order)
        return state.withLock { state in
            if state.queue.isEmpty {
                state.queue = paths
                if case .random = order { state.queue.shuffle(using: &state.generator) }
            }
            return state.queue.removeFirst()
        }
    }

    /// - Throws: `SimulationError.decode` naming the file.
    public func capture() async throws -> Frame {
        let path = nextPath()
        do {
            var frame = try decode(path)
            frame.origin = path
            return frame
        } catch {
            throw SimulationError(.decode, "\(path): \(error)")
        }
    }
}
