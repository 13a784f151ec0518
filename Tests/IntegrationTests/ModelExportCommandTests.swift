import BinTestKit
import Foundation
import Imaging
import Testing

/// `smartbin model export-qdq` and `smartbin model trace` through the binary, checked by
/// `tools/qdq_check.py` in ONNX Runtime (skipped, with a reason, when onnx/onnxruntime are not
/// importable or the shared TrashNet photos are missing).
@Suite(.serialized) struct ModelExportCommandTests {
    static let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"

    static func tool(_ arguments: [String], directory: String) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + arguments
        let log = directory + "/tool-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    static func smartbin(_ arguments: [String], directory: String) async throws -> (status: Int32, output: String) {
        let process = try SmartBinChildProcess(arguments, directory: directory)
        let status = await process.wait(timeout: .seconds(300)) ?? -1
        return (status, process.output)
    }

    @Test func exportedQDQModelRunsInONNXRuntimeWithinOneStepOfTheEngine() async throws {
        let photos = SmartBinChildProcess.packageRoot + "/../shared/data/trashnet"
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard FileManager.default.fileExists(atPath: photos),
              try await Self.tool(["-c", "import onnx, onnxruntime"], directory: directory).status == 0 else {
            print("ModelExportCommandTests: needs ../shared/data/trashnet and python onnx/onnxruntime; skipped")
            return
        }
        let sbm = directory + "/tiny.sbm"
        let compiled = try await Self.smartbin(["model", "compile", try SmartBinChildProcess.model("tiny-v1.5-keras-6.onnx"), "--int8",
                                                "--calibrate", photos, "--calibration-images", "12", "-o", sbm], directory: directory)
        try #require(compiled.status == 0, "\(compiled.output)")
        var state: UInt64 = 7
        let input = (0..<(3 * 64 * 64)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(state >> 40) % 4000) / 1000 - 2
        }
        try NPY.write(input, shape: [1, 3, 64, 64], to: directory + "/x.npy")
        let check = try await Self.tool([SmartBinChildProcess.packageRoot + "/tools/qdq_check.py", "--sbm", sbm, "--smartbin", SmartBinChildProcess.binary,
                                         "--input", directory + "/x.npy", "--json"], directory: directory)
        #expect(check.status == 0, "\(check.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(check.output.utf8)) as? [String: Any])
        let layerwise = try #require(report["layerwise"] as? [String: [String: Any]])
        #expect(layerwise["reference"]?["max_steps"] as? Int ?? 99 <= 1 && layerwise["optimized"]?["max_steps"] as? Int ?? 99 <= 1, "\(report)")
    }

    @Test func exportOfAModelWithoutInt8WeightsIsOneLineError() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sbm = directory + "/fp32.sbm"
        let compiled = try await Self.smartbin(["model", "compile", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"), "-o", sbm], directory: directory)
        try #require(compiled.status == 0, "\(compiled.output)")
        let result = try await Self.smartbin(["model", "export-qdq", sbm, "-o", directory + "/x.onnx"], directory: directory)
        #expect(result.status != 0)
        #expect(result.output.split(separator: "\n").count == 1 && result.output.contains("no int8 weights"), "\(result.output)")
    }
}
