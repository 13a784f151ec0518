import BinCore
import Foundation
import Testing
@testable import Hardware

/// `V4L2Camera`'s worker through its device seam: losing the device mid-run, failing fast with
/// the cause while it is gone, reopening with back-off, and reporting its health meanwhile.
@Suite struct V4L2CameraTests {
    static let configuration = V4L2Camera.Configuration(
        device: "/dev/video7", pixelFormat: .yuyv, width: 2, height: 1, warmupFrames: 2, frameTimeout: .milliseconds(200),
        reopen: RetryPolicy(maxAttempts: .max, initialBackoff: .milliseconds(100), multiplier: 2, maxBackoff: .seconds(1)))

    static func camera(_ rig: FakeCameraRig) throws -> V4L2Camera {
        try V4L2Camera(configuration, decodeMJPEG: { _, _, _ in throw HardwareError(.badData, "unexpected MJPEG") },
                       convertYUYV: FrameAssembler.imagingYUYV, open: { configuration, _ throws(HardwareError) in try rig.open(configuration) })
    }

    /// Polls `condition` every 5 ms for up to `timeout`.
    static func eventually(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    /// The RGB of the fake's grey frames from device `generation` (limited-range luma → full range).
    static func grey(_ generation: Int) -> UInt8 {
        UInt8((Double(Int(FakeCameraRig.luma(generation)) - 16) * 255 / 219).rounded())
    }

    @Test func aLostCameraFailsFastReportsItsFaultAndIsReopenedWithBackOff() async throws {
        let rig = FakeCameraRig(device: Self.configuration.device)
        let camera = try Self.camera(rig)
        defer { camera.stop() }

        let asked = MonotonicClock.now()
        let first = try await camera.capture()
        #expect(first.origin == "/dev/video7" && first.width == 2 && abs(Int(first.rgb[0]) - Int(Self.grey(1))) <= 1)
        #expect(camera.health == .ok)
        #expect(rig.snapshot.served[1] == 3, "two warm-up frames, then the one asked for")
        #expect(try #require(rig.snapshot.requests.last) >= asked, "the device must be asked for a frame newer than the request")

        // Unplugged: the capture in flight fails with the ioctl's error and the health says why.
        rig.unplug(failingOpens: 2)
        let lost = await #expect(throws: HardwareError.self) { try await camera.capture() }
        #expect(lost?.code == .deviceLost)
        #expect(lost?.message == "/dev/video7: VIDIOC_DQBUF failed: No such device (errno 19)")
        guard case .fault(let reason) = camera.health else {
            Issue.record("health is \(camera.health) after the device was lost")
            return
        }
        #expect(reason.hasPrefix("/dev/video7: VIDIOC_DQBUF failed: No such device (errno 19); reopening in"), "\(reason)")

        // While it is gone, captures fail at once and carry the cause (the controller's fault reason).
        let started = ContinuousClock.now
        let meanwhile = await #expect(throws: HardwareError.self) { try await camera.capture() }
        #expect(ContinuousClock.now - started < .milliseconds(500), "a capture must not wait for a missing camera")
        #expect(meanwhile?.code == .deviceLost)
        #expect(meanwhile?.message.hasPrefix("/dev/video7: camera unavailable (/dev/video7: ") == true, "\(String(describing: meanwhile))")
        #expect(meanwhile?.message.contains("); reopening in ") == true)

        // A failed reopen shows in the health too.
        let sawOpenFailure = await Self.eventually {
            if case .fault(let reason) = camera.health { return reason.contains("open failed: No such file or directory") }
            return false
        }
        #expect(sawOpenFailure, "health never reported the failed reopen: \(camera.health)")

        // Back after the third attempt, with a new warm-up.
        #expect(await Self.eventually { camera.health == .ok }, "not reopened: \(camera.health)")
        let again = try await camera.capture()
        #expect(abs(Int(again.rgb[0]) - Int(Self.grey(2))) <= 1, "the frame must come from the reopened device")
        let state = rig.snapshot
        #expect(state.served[2] == 3)
        #expect(state.opens.count == 4, "the first open, two failed reopens, one that worked")
        // Exponential back-off from the loss: at least 100, 200 and 400 ms between attempts.
        let lossAt = try #require(state.losses.first)
        let waits = zip([lossAt] + state.opens[1..<3], state.opens[1...]).map { $1 - $0 }
        for (wait, least) in zip(waits, [Duration.milliseconds(100), .milliseconds(200), .milliseconds(400)]) {
            #expect(wait >= least, "waited \(waits) between attempts")
        }

        camera.stop()
        let stopped = await #expect(throws: HardwareError.self) { try await camera.capture() }
        #expect(stopped?.message.contains("camera stopped") == true)
    }

    @Test func aCameraMissingAtStartUpIsAnErrorFromInit() {
        let rig = FakeCameraRig(device: Self.configuration.device)
        rig.unplug(failingOpens: 1)
        let error = #expect(throws: HardwareError.self) { _ = try Self.camera(rig) }
        #expect(error?.message == "/dev/video7: open failed: No such file or directory (errno 2)")
    }
}
