import BinTestKit
import Foundation
import Imaging
import Testing

/// The `smartbin` command's outside interface: what scripts and operators rely on.
@Suite(.serialized) struct CommandLineTests {
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try SmartBinChildProcess(arguments, directory: directory)
        let status = await process.wait(timeout: .seconds(120)) ?? -1
        return (status, process.output)
    }

    @Test func classifyRawOutputMatchesONNXRuntimeThroughTheBinary() async throws {
        let model = try SmartBinChildProcess.model("resnet50-v1-keras-6.onnx")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var state: UInt64 = 42
        let input = (0..<(3 * 224 * 224)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(state >> 40) % 4000) / 1000 - 2
        }
        try NPY.write(input, shape: [1, 3, 224, 224], to: directory + "/x.npy")
        let ours = try await Self.run(["classify", "--model", model, "--input-npy", directory + "/x.npy", "--json", "--raw"])
        try #require(ours.status == 0, "\(ours.output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ours.output.utf8)) as? [String: Any])
        let output = try #require(object["output"] as? [Double])
        #expect(object["predicted_label"] is String)
        let scores = try #require(object["scores"] as? [[Any]])
        #expect(scores.count == 5 && scores[0][0] as? String == object["predicted_label"] as? String)

        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        let reference = try await Self.runTool(python, [SmartBinChildProcess.packageRoot + "/tools/ort_run.py", "--model", model,
                                                        "--input", directory + "/x.npy", "--output", directory + "/y.npy"])
        try #require(reference == 0, "ort_run.py failed; tools/setup.sh installs onnxruntime")
        let expected = try NPY.read(directory + "/y.npy").values.map(Double.init)
        #expect(output.count == expected.count)
        let scale = expected.map(abs).max() ?? 1
        let worst = zip(output, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-3 * scale, "max |Δ| \(worst) vs ONNX Runtime")
    }

    static func runTool(_ executable: String, _ arguments: [String]) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test(arguments: [
        (["classify", "--model", "/nonexistent/m.onnx", "x.jpg"], "/nonexistent/m.onnx"),
        (["classify", "--model", "README.md", "x.jpg"], "README.md"),
        (["classify", "--model", "@tiny", "README.md"], "not a JPEG"),
        (["classify", "--model", "@tiny", "/nonexistent/photo.jpg"], "/nonexistent/photo.jpg"),
        (["bench", "--model", "Package.swift"], "Package.swift"),
        (["simulate", "--broker", "nohost", "--items", "1"], "HOST:PORT"),
        (["simulate", "--config", "/nonexistent/bin.toml"], "/nonexistent/bin.toml"),
    ])
    func badInputGivesOneLineErrorAndNonZeroExit(arguments: [String], mentions: String) async throws {
        let tiny = try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx")
        let result = try await Self.run(arguments.map { $0 == "@tiny" ? tiny : $0 })
        #expect(result.status != 0)
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got:\n\(result.output)")
        #expect(result.output.contains("error") && result.output.contains(mentions), "\(result.output)")
        #expect(!result.output.contains("Fatal error") && !result.output.contains("Stack dump"))
    }

    /// Runs the binary with stdout and stderr in separate files.
    /// - Parameters:
    ///   - environment: entries added to this process's environment.
    ///   - unset: variables removed from it.
    static func runSeparated(_ arguments: [String], environment: [String: String] = [:],
                             unset: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SmartBinChildProcess.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: SmartBinChildProcess.packageRoot)
        var childEnvironment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        for name in unset { childEnvironment[name] = nil }
        process.environment = childEnvironment
        var handles: [FileHandle] = []
        for name in ["stdout", "stderr"] {
            FileManager.default.createFile(atPath: directory + "/" + name, contents: nil)
            handles.append(try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/" + name)))
        }
        process.standardOutput = handles[0]
        process.standardError = handles[1]
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        for handle in handles { try? handle.close() }
        let read = { (name: String) in (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? "" }
        return (process.terminationStatus, read("stdout"), read("stderr"))
    }

    @Test(arguments: [false, true])
    func classifyPrintsNothingWhenALaterImageFails(json: Bool) throws {
        let photos = SmartBinChildProcess.packageRoot + "/../shared/data/trashnet"
        try #require(FileManager.default.fileExists(atPath: photos + "/glass/glass1.jpg"), "shared TrashNet photos not found beside the package")
        let missing = "/nonexistent/photo-2.jpg"
        let result = try Self.runSeparated(["classify", "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx")]
                                           + (json ? ["--json"] : []) + [photos + "/glass/glass1.jpg", missing])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty, "partial output on stdout:\n\(result.stdout)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("error") && lines[0].contains(missing), "\(result.stderr)")
    }

    /// OpenBLAS reads `OPENBLAS_CORETYPE` when it loads; a stale `Prescott` (its generic x86-64
    /// kernels, a third of the speed) must be replaced by the kernels this CPU supports, and
    /// `bench` must say which core was chosen and which had been.
    @Test func benchReplacesAWeakOpenBLASCoreAndNamesTheOneItHad() throws {
        let flags = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
            .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        #if arch(x86_64)
        let canCorrect = flags.contains("avx2") && flags.contains("fma")
        #else
        let canCorrect = false
        #endif
        guard canCorrect else {
            print("skipped: this CPU has no OpenBLAS core above Prescott to choose (x86-64 with AVX2 and FMA needed)")
            return
        }
        let result = try Self.runSeparated(["bench", "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                                            "--iterations", "2", "--warmup", "0", "--json"],
                                           environment: ["OPENBLAS_CORETYPE": "Prescott"],
                                           unset: ["SMARTBIN_BLAS_CORE", "SMARTBIN_BLAS_CORE_CHECKED"])
        try #require(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        let chosen = try #require(object["blas_core"] as? String)
        let detected = try #require(object["blas_core_detected"] as? String)
        #expect(chosen.lowercased() != "prescott" && chosen != "unknown", "OpenBLAS still runs \(chosen)")
        #expect(["SkylakeX", "Haswell"].contains(chosen), "\(chosen) is not the core this CPU supports")
        #expect(detected.contains("Prescott") && detected.contains("OPENBLAS_CORETYPE=Prescott"), "\(detected)")
    }

    @Test func classifyPrintsTopKForRealPhotos() async throws {
        let photos = SmartBinChildProcess.packageRoot + "/../shared/data/trashnet"
        try #require(FileManager.default.fileExists(atPath: photos), "shared TrashNet photos not found beside the package")
        let result = try await Self.run(["classify", "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"), "--top", "3", "--json",
                                         photos + "/glass/glass1.jpg", photos + "/trash/trash1.jpg"])
        #expect(result.status == 0, "\(result.output)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        for item in array {
            let scores = try #require(item["scores"] as? [[Any]])
            #expect(scores.count == 3)
            let values = scores.compactMap { $0[1] as? Double }
            #expect(values == values.sorted(by: >) && values.allSatisfy { (0...1).contains($0) })
        }
    }
    /// An int8 model's stem runs on the image's bytes in int16 where the CPU has AVX-512 VNNI
    /// (the layer report says so), and the class scores stay those of the fp32 stem
    /// (`SMARTBIN_S16=0`) within 0.01 on real photos.
    @Test func int16StemIsTheDefaultAndKeepsTheScores() throws {
        let photos = SmartBinChildProcess.packageRoot + "/../shared/data/trashnet"
        try #require(FileManager.default.fileExists(atPath: photos + "/glass/glass1.jpg"), "shared TrashNet photos not found beside the package")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sbm = directory + "/tiny-int8.sbm"
        let compiled = try Self.runSeparated(["model", "compile", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"), "--int8",
                                              "--calibrate", photos, "--calibration-images", "12", "-o", sbm])
        try #require(compiled.status == 0, "\(compiled.stderr)")
        var stems: [String: String] = [:], scores: [String: [[Double]]] = [:]
        for flag in ["0", "1"] {
            let bench = try Self.runSeparated(["bench", "--model", sbm, "--iterations", "1", "--warmup", "0", "--layers"],
                                              environment: ["SMARTBIN_S16": flag])
            try #require(bench.status == 0, "\(bench.stderr)")
            stems[flag] = bench.stdout.split(separator: "\n").first { $0.contains("conv7x7/2") }.map(String.init) ?? ""
            let run = try Self.runSeparated(["classify", "--model", sbm, "--json", "--top", "6",
                                             photos + "/glass/glass1.jpg", photos + "/trash/trash1.jpg", photos + "/metal/metal1.jpg"],
                                            environment: ["SMARTBIN_S16": flag])
            try #require(run.status == 0, "\(run.stderr)")
            let items = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
            scores[flag] = try items.map { item in
                let pairs = try #require(item["scores"] as? [[Any]])
                return pairs.sorted { ($0[0] as? String ?? "") < ($1[0] as? String ?? "") }.compactMap { $0[1] as? Double }
            }
        }
        #expect(stems["0"]!.contains("[fp32"), "SMARTBIN_S16=0 keeps the fp32 stem: \(stems["0"]!)")
        #if arch(x86_64)
        let vnni = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains("avx512_vnni")
        #else
        let vnni = false
        #endif
        #expect(stems["1"]!.contains(vnni ? "[int16" : "[fp32"), "\(stems["1"]!)")
        let (a, b) = (scores["0"]!, scores["1"]!)
        #expect(a.count == 3 && b.count == 3 && a.map(\.count) == b.map(\.count))
        for (x, y) in zip(a.joined(), b.joined()) { #expect(abs(x - y) <= 0.01, "scores \(a) vs \(b)") }
    }
}
