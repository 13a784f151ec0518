import Foundation
import Imaging
import Testing

@Suite struct PreprocessorTests {
    @Test func outputSizeFollowsTheResizeMode() {
        #expect(ResizeMode.standard == .shorterSideThenCenterCrop(shorter: 256, crop: 224))
        let standard = Preprocessor(preset: .torch)
        #expect(standard.outputWidth == 224 && standard.outputHeight == 224)
        #expect(standard.elementCount == 3 * 224 * 224)
        let direct = Preprocessor(preset: .caffe, resize: .direct(width: 200, height: 100))
        #expect(direct.outputWidth == 200 && direct.outputHeight == 100)
        // torchvision: long side = int(256 * long / short), truncated.
        #expect(ResizeMode.standard.resampledSize(width: 512, height: 384) == (341, 256))
        #expect(ResizeMode.standard.resampledSize(width: 384, height: 512) == (256, 341))
        #expect(ResizeMode.standard.resampledSize(width: 640, height: 480) == (341, 256))
        #expect(ResizeMode.standard.resampledSize(width: 300, height: 300) == (256, 256))
    }

    @Test(arguments: ChannelPreset.allCases)
    func constantImageGivesConstantPlanesInThePresetsChannelOrder(preset: ChannelPreset) {
        let (r, g, b): (UInt8, UInt8, UInt8) = (200, 100, 50)
        let image = RGBImage(width: 300, height: 260, red: r, green: g, blue: b)
        let tensor = Preprocessor(preset: preset).tensor(from: image)
        #expect(tensor.count == 3 * 224 * 224)
        let rgb = [Double(r), Double(g), Double(b)]
        // Expected values from the published conventions, in Double.
        let expected: [Double] = switch preset {
        case .torch:
            [(rgb[0] / 255 - 0.485) / 0.229, (rgb[1] / 255 - 0.456) / 0.224, (rgb[2] / 255 - 0.406) / 0.225]
        case .caffe:
            [rgb[2] - 103.939, rgb[1] - 116.779, rgb[0] - 123.68]
        }
        let plane = 224 * 224
        for channel in 0..<3 {
            let values = tensor[(channel * plane)..<((channel + 1) * plane)]
            #expect(values.allSatisfy { abs(Double($0) - expected[channel]) < 1e-5 }, "channel \(channel)")
        }
    }

    @Test func writeFillsACallerOwnedBuffer() {
        let image = TestSupport.noisy(width: 120, height: 90, seed: 2)
        let preprocessor = Preprocessor(preset: .torch, resize: .shorterSideThenCenterCrop(shorter: 64, crop: 56))
        var buffer = [Float](repeating: .nan, count: preprocessor.elementCount)
        buffer.withUnsafeMutableBufferPointer { preprocessor.write(image, into: $0) }
        #expect(buffer == preprocessor.tensor(from: image))
        #expect(!buffer.contains { $0.isNaN })
    }

    // MARK: Against the numpy reference

    /// Photos used against the references: landscape (512x384) and portrait (384x512) ones.
    static let referencePhotos = ["glass/glass1.jpg", "cardboard/cardboard5.jpg", "metal/metal3.jpg",
                                  "trash/trash1.jpg", "trash/trash7.jpg"]
    static let referenceModes: [(ResizeMode, String)] = [
        (.standard, "shorter:256:224"),
        (.direct(width: 224, height: 224), "direct:224x224"),
        (.shorterSideThenCenterCrop(shorter: 232, crop: 240), "shorter:232:240"),  // crop pads
        (.direct(width: 300, height: 150), "direct:300x150"),
    ]

    @Test(.enabled(if: TestSupport.hasTrashNet,
                   "shared data not found (set SMARTBIN_SHARED_DATA or place it at ../shared/data)"))
    func photoTensorsMatchTheNumpyReferenceImplementation() throws {
        var images: [(String, RGBImage)] = []
        for name in Self.referencePhotos {
            let path = TestSupport.sharedData.appendingPathComponent("trashnet/\(name)").path
            images.append((name, try JPEG.decode(contentsOf: path)))
        }
        #expect(images.contains { $0.1.width > $0.1.height } && images.contains { $0.1.height > $0.1.width },
                "the reference photos must include landscape and portrait ones")
        let worst = try Self.compareWithNumpyReference(images)
        print("photos vs numpy reference: max |Δ| = \(worst)")
    }

    @Test func syntheticTensorsMatchTheNumpyReferenceImplementation() throws {
        let images = [(640, 480), (333, 517), (100, 60), (224, 224), (1000, 90)].map { size in
            ("noise \(size.0)x\(size.1)", TestSupport.noisy(width: size.0, height: size.1, seed: UInt64(size.0)))
        }
        let worst = try Self.compareWithNumpyReference(images)
        print("synthetic images vs numpy reference: max |Δ| = \(worst)")
    }

    /// Runs `tools/preprocess_ref.py` on every image for each preset and mode, compares with
    /// `Preprocessor`, and returns the largest absolute difference. Records an issue (fails)
    /// when python3 or numpy is missing.
    static func compareWithNumpyReference(_ images: [(String, RGBImage)]) throws -> Float {
        if let problem = TestSupport.pythonProblem(importing: "numpy") {
            Issue.record("python3 with numpy is required for the preprocessing reference test: \(problem)")
            return .nan
        }
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var jobs: [String] = []
        var expectations: [(label: String, output: String, tensor: [Float], shape: [Int])] = []
        for (index, (name, image)) in images.enumerated() {
            let input = directory.appendingPathComponent("image\(index).npy").path
            try NPY.write(image.pixels, shape: [image.height, image.width, 3], to: input)
            for preset in ChannelPreset.allCases {
                for (modeIndex, (mode, modeText)) in referenceModes.enumerated() {
                    let output = directory.appendingPathComponent("tensor\(index)-\(preset)-\(modeIndex).npy").path
                    jobs.append("\(input) \(output) \(preset.rawValue) \(modeText)")
                    let preprocessor = Preprocessor(preset: preset, resize: mode)
                    expectations.append(("\(name) \(preset) \(modeText)", output, preprocessor.tensor(from: image),
                                         [1, 3, preprocessor.outputHeight, preprocessor.outputWidth]))
                }
            }
        }
        let jobFile = directory.appendingPathComponent("jobs.txt").path
        try jobs.joined(separator: "\n").write(toFile: jobFile, atomically: true, encoding: .utf8)
        let run = try TestSupport.runPython(["tools/preprocess_ref.py", "batch", jobFile])
        try #require(run.status == 0, "tools/preprocess_ref.py failed: \(run.output)")

        var worst: Float = 0
        for expectation in expectations {
            let reference = try NPY.read(expectation.output)
            #expect(reference.shape == expectation.shape, "\(expectation.label)")
            guard reference.values.count == expectation.tensor.count else { continue }
            let difference = zip(reference.values, expectation.tensor).map { abs($0 - $1) }.max() ?? 0
            worst = max(worst, difference)
            #expect(difference <= 1e-3, "\(expectation.label): max |Δ| = \(difference)")
        }
        return worst
    }

    // MARK: Against Pillow (optional)

    @Test(.enabled(if: TestSupport.hasTrashNet, "shared data not found"),
          .enabled(if: TestSupport.hasPillow, "Pillow is not importable by python3; comparison skipped"))
    func decodeAndResizeAgreeWithPillow() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var worstDecode = 0, worstResize = 0
        for name in Self.referencePhotos {
            let path = TestSupport.sharedData.appendingPathComponent("trashnet/\(name)").path
            let ours = try JPEG.decode(contentsOf: path)
            let sizes = [(ours.width, ours.height),
                         ResizeMode.standard.resampledSize(width: ours.width, height: ours.height),
                         (224, 224), (97, 301)]
            for (width, height) in sizes {
                let output = directory.appendingPathComponent("pil-\(width)x\(height).npy").path
                let run = try TestSupport.runPython(["tools/preprocess_ref.py", "pil", path, output, "\(width)", "\(height)"])
                try #require(run.status == 0, "Pillow reference failed: \(run.output)")
                let pillow = try NPY.read(output)
                let resized = ours.resized(width: width, height: height)
                try #require(pillow.shape == [height, width, 3], "\(name): Pillow gave \(pillow.shape)")
                let difference = zip(pillow.values, resized.pixels).map { Int(abs($0 - Float($1))) }.max() ?? 0
                if width == ours.width && height == ours.height {
                    worstDecode = max(worstDecode, difference)
                } else {
                    worstResize = max(worstResize, difference)
                }
                #expect(difference <= 2, "\(name) at \(width)x\(height): max |Δ| = \(difference) levels")
            }
        }
        print("vs Pillow: decode max |Δ| = \(worstDecode), decode+resize max |Δ| = \(worstResize) levels")
    }
}
