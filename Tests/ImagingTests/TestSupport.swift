import BinTestKit
import Foundation
import Imaging

/// Paths, processes and synthetic data shared by the Imaging test suites.
enum TestSupport {
    /// The package root, found from this file's location (Tests/ImagingTests/TestSupport.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The shared sample data: `$SMARTBIN_SHARED_DATA` when set (e.g. for a worktree checked
    /// out elsewhere), else `../shared/data` next to the package root.
    static let sharedData: URL = {
        if let override = ProcessInfo.processInfo.environment["SMARTBIN_SHARED_DATA"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }()

    /// True when the shared TrashNet sample is present.
    static var hasTrashNet: Bool {
        FileManager.default.fileExists(atPath: sharedData.appendingPathComponent("trashnet").path)
    }

    /// Every `.jpg` under `trashnet/`, sorted.
    static func trashNetPhotos() -> [URL] {
        let root = sharedData.appendingPathComponent("trashnet")
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        return walker.compactMap { $0 as? URL }
            .filter { $0.pathExtension.lowercased() == "jpg" }
            .sorted { $0.path < $1.path }
    }

    /// A fresh temporary directory; the caller removes it.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("smartbin-imaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    // MARK: - Python

    /// The interpreter: `$SMARTBIN_PYTHON`, else `python3` on the PATH.
    static let python = ProcessInfo.processInfo.environment["SMARTBIN_PYTHON"] ?? "python3"

    /// Runs `python` with `arguments`; returns its exit status and combined output.
    static func runPython(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try ChildProcess.run(python, arguments, directory: packageRoot, mergeErrors: true)
        return (result.status, result.stdout)
    }

    /// Nil when `import <module>` works in `python`, else a message saying what is missing.
    static func pythonProblem(importing module: String) -> String? {
        do {
            let result = try runPython(["-c", "import \(module)"])
            return result.status == 0 ? nil
                : "\(python) cannot import \(module) (exit \(result.status)): \(result.output)"
        } catch {
            return "cannot run \(python): \(error)"
        }
    }

    static let hasPillow: Bool = pythonProblem(importing: "PIL") == nil

    // MARK: - Synthetic data

    /// A deterministic smooth test picture: red ramps left to right, green top to bottom, blue
    /// is a soft ripple. Smooth so that JPEG loss stays small and measurable.
    static func gradient(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8]()
        pixels.reserveCapacity(width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                pixels.append(UInt8(x * 255 / max(width - 1, 1)))
                pixels.append(UInt8(y * 255 / max(height - 1, 1)))
                let ripple = 128 + 90 * sin(Double(x) / 9) * cos(Double(y) / 7)
                pixels.append(UInt8(ripple.rounded()))
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// A deterministic pseudo-random photo-like image (noise on a gradient).
    static func noisy(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var random = SplitMix64(seed: seed)
        let base = gradient(width: width, height: height)
        let pixels = base.pixels.map { UInt8(clamping: Int($0) + Int(random.next() % 61) - 30) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Peak signal-to-noise ratio in dB between two equally sized byte arrays.
    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count)
        var sum = 0.0
        for (x, y) in zip(a, b) {
            let d = Double(x) - Double(y)
            sum += d * d
        }
        let mse = sum / Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// Width and height from the first SOFn segment, read independently of libjpeg.
    static func headerSize(ofJPEG bytes: [UInt8]) -> (width: Int, height: Int)? {
        var i = 2
        while i + 9 < bytes.count {
            guard bytes[i] == 0xFF else { return nil }
            let marker = bytes[i + 1]
            if marker == 0xFF { i += 1; continue }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            let isSOF = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isSOF {
                let height = Int(bytes[i + 5]) << 8 | Int(bytes[i + 6])
                let width = Int(bytes[i + 7]) << 8 | Int(bytes[i + 8])
                return (width, height)
            }
            i += 2 + length
        }
        return nil
    }

    /// An APP1 EXIF segment (marker included) whose IFD0 holds one orientation entry.
    static func exifSegment(orientation: Int, bigEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] {
            bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)]
        }
        func u32(_ v: Int) -> [UInt8] {
            bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16)
        }
        var tiff: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
        tiff += u16(42) + u32(8)                   // magic, IFD0 at offset 8
        tiff += u16(2)                             // two entries
        tiff += u16(0x010F) + u16(2) + u32(4) + Array("Cam\0".utf8)  // Make, ASCII, inline
        tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0)  // Orientation, SHORT
        tiff += u32(0)                             // no IFD1
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let length = payload.count + 2
        return [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    }

    /// `jpeg` with `segment` inserted right after the SOI marker.
    static func inserting(_ segment: [UInt8], into jpeg: [UInt8]) -> [UInt8] {
        Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }
}

/// A small deterministic generator (SplitMix64) so tests do not depend on the system RNG.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
