import BinCore
import BinTestKit
import Foundation
import Logging
import Simulation
import Testing

@Suite struct ImageFolderFrameSourceTests {
    /// A temporary folder with `b.jpg`, `a.JPEG`, `sub/c.jpg` and `notes.txt`.
    func makeFolder() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sb-frames-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        for name in ["b.jpg", "a.JPEG", "sub/c.jpg", "notes.txt"] {
            try Data().write(to: root.appendingPathComponent(name))
        }
        return root.path
    }

    let fakeDecode: @Sendable (String) throws -> Frame = { path in
        if path.hasSuffix("c.jpg") { throw FakeError("corrupt") }
        return .fake("decoder")
    }

    @Test func findsJpegsRecursivelySortedAndCycles() async throws {
        let root = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = try ImageFolderFrameSource(directory: root, decode: fakeDecode)
        #expect(source.paths.map { $0.replacingOccurrences(of: root + "/", with: "") } == ["a.JPEG", "b.jpg", "sub/c.jpg"])
        let first = try await source.capture()
        #expect(first.origin == root + "/a.JPEG")
        _ = try await source.capture()
        await #expect(throws: SimulationError.self) { try await source.capture() }   // sub/c.jpg is corrupt
        #expect(try await source.capture().origin == root + "/a.JPEG")               // cycled
    }

    @Test func randomOrderIsASeededShuffleOfEveryImage() throws {
        let root = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let a = try ImageFolderFrameSource(directory: root, order: .random(seed: 9), decode: fakeDecode)
        let b = try ImageFolderFrameSource(directory: root, order: .random(seed: 9), decode: fakeDecode)
        let passA = (0..<6).map { _ in a.nextPath() }
        #expect(passA == (0..<6).map { _ in b.nextPath() })
        #expect(Set(passA.prefix(3)) == Set(a.paths))
    }

    @Test func folderWithoutImagesIsAnError() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sb-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(throws: SimulationError(.noImages, "\(root.path): no .jpg or .jpeg files (searched recursively)")) {
            try ImageFolderFrameSource(directory: root.path, decode: fakeDecode)
        }
        #expect(throws: SimulationError.self) { try ImageFolderFrameSource(directory: root.path + "/nope", decode: fakeDecode) }
    }
}

@Suite struct SyntheticFrameSourceTests {
    @Test func framesAreLabelledAsGeneratedAndDiffer() async throws {
        let source = SyntheticFrameSource(width: 8, height: 4)
        let a = try await source.capture()
        let b = try await source.capture()
        #expect(a.origin.contains("generated"))
        #expect(a.origin.hasPrefix("synthetic:1"))
        #expect(a.rgb.count == 8 * 4 * 3)
        #expect(a.rgb != b.rgb)
    }
}

@Suite struct LoggingFlapTests {
    @Test func moveTakesTravelTimeOnTheClock() async throws {
        let clock = ManualClock()
        let flap = LoggingFlap(clock: clock, homeDegrees: 0, travelPerDegree: .milliseconds(2))
        let move = Task { try await flap.move(toDegrees: 45) }
        #expect(await clock.waitForSleepers(1))
        #expect(clock.nextDeadline?.offset == .milliseconds(90))
        clock.advance(by: .milliseconds(90))
        try await move.value
        #expect(flap.degrees == 45)
        await flap.release()
    }
}

@Suite struct LabelFilesTests {
    @Test func loadsTheShippedMapsFromDisk() throws {
        let maps = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("maps")
        #expect(try LabelMap.load(contentsOfFile: maps.appendingPathComponent("trashnet.tsv").path).count == 6)
        #expect(try LabelMap.load(contentsOfFile: maps.appendingPathComponent("garbage_classify.tsv").path).count == 40)
        #expect(throws: SimulationError.self) { try LabelsFile.load(contentsOfFile: "/nonexistent/labels.txt") }
    }
}
