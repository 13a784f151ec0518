import BinCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Hardware

/// The adapters against the kernel's simulated devices, where the kernel offers them: a
/// `gpio-sim` chip made through configfs, and a `vivid` (or `v4l2loopback`) video node. Each test
/// is skipped, saying why, on a machine without them.
@Suite(.serialized) struct KernelDeviceTests {
    static let gpioSimRoot = "/sys/kernel/config/gpio-sim"
    static let hasGPIOSim = access(gpioSimRoot, W_OK) == 0
    static let virtualCamera = VirtualCamera.find()

    // MARK: gpio-sim

    @Test(.enabled(if: hasGPIOSim, "no writable /sys/kernel/config/gpio-sim: needs configfs and the gpio-sim module (modprobe gpio-sim), as root"))
    func gpioSimLineGivesDebouncedEdgesWithOurConsumerName() async throws {
        let sim = try GPIOSimChip(name: "smartbin-test-\(getpid())", lines: 8)
        defer { sim.remove() }
        let offset: UInt32 = 3
        let source = try GPIOTriggerSource(.init(chip: sim.chipName, offset: offset, rising: .lidOpened, falling: .lidClosed,
                                                 debounce: .milliseconds(20), consumer: "smartbin-sim-test"))
        // The kernel shows the line as ours.
        let summary = try GPIOChipSummary.probe(chip: sim.chipName, offsets: [offset])
        #expect(summary.consumers[offset] == .some("smartbin-sim-test"), "\(summary)")

        let seen = Mutex<[TriggerEvent]>([])
        let watcher = Task {
            for await event in source.events() { seen.withLock { $0.append(event) } }
        }
        defer { watcher.cancel() }
        try await Task.sleep(for: .milliseconds(200))  // the watcher reads the line's level first
        // A bouncing open (up, down, up within microseconds), then a clean close.
        for pull in ["pull-up", "pull-down", "pull-up"] { try sim.setPull(offset, pull) }
        try await Task.sleep(for: .milliseconds(150))
        try sim.setPull(offset, "pull-down")
        let deadline = ContinuousClock.now + .seconds(3)
        while seen.withLock({ $0.count }) < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(200))  // nothing else may follow
        let events = seen.withLock { $0 }
        #expect(events.map(\.kind) == [.lidOpened, .lidClosed], "\(events)")
        #expect(events.allSatisfy { $0.source == "\(sim.chipName):\(offset)" })
        if events.count == 2, let opened = events[0].kernelTimestamp, let closed = events[1].kernelTimestamp {
            #expect(closed - opened >= .milliseconds(100), "the close came 150 ms after the open")
        }
    }

    // MARK: vivid / v4l2loopback

    @Test(.enabled(if: virtualCamera != nil, "no /dev/video* from the vivid driver (modprobe vivid), nor from v4l2loopback with ffmpeg on PATH to feed it"))
    func virtualCameraGivesAFrameCapturedAfterTheRequest() async throws {
        let camera = try #require(Self.virtualCamera)
        let producer = try camera.startProducer()
        defer { producer?.terminate() }
        let (width, height) = (320, 240)

        try Self.expectFreshFrameAfterIdle(camera, width: width, height: height)

        // The camera adapter with the firmware's decoders (the device above is closed by now).
        let adapter = try V4L2Camera(.init(device: camera.path, pixelFormat: .yuyv, width: width, height: height, warmupFrames: 2),
                                     decodeMJPEG: FrameAssembler.libjpegMJPEG, convertYUYV: FrameAssembler.imagingYUYV)
        defer { adapter.stop() }
        let frame = try await adapter.capture()
        #expect(frame.origin == camera.path && frame.width > 0 && frame.rgb.count == frame.width * frame.height * 3)
        #expect(adapter.health == .ok)
    }

    /// Streams from the device directly: after an idle spell the ring is full of old frames, and
    /// the one returned must be newer than the request. The device is closed on return.
    static func expectFreshFrameAfterIdle(_ camera: VirtualCamera, width: Int, height: Int) throws {
        let device = try V4L2Device(path: camera.path)
        let requested = V4L2Format(.yuyv, width: width, height: height)
        _ = try V4L2Format.accept(requested: requested, chosen: try device.setFormat(requested), device: camera.path)
        try device.startStreaming(bufferCount: 3)
        _ = try device.frame(capturedAfter: MonotonicClock.now(), deadline: MonotonicClock.now() + .seconds(3))
        MonotonicClock.sleep(.milliseconds(500))
        let requestedAt = MonotonicClock.now()
        let captured = try device.frame(capturedAfter: requestedAt, deadline: requestedAt + .seconds(3))
        #expect(!captured.bytes.isEmpty)
        if let timestamp = captured.timestamp { #expect(timestamp >= requestedAt, "a frame from before the request") }
        if camera.driver == "vivid" {
            #expect(captured.timestamp != nil, "vivid stamps CLOCK_MONOTONIC")
            #expect(captured.staleDropped >= 1, "the ring filled while idle; those buffers must be dropped")
        }
    }
}

/// A `gpio-sim` chip made through configfs (root only), removed by `remove()`.
struct GPIOSimChip {
    let directory: String
    /// `gpiochipN`, as libgpiod names it.
    let chipName: String
    /// The simulator's platform device (`gpio-sim.N`), whose sysfs holds each line's pull.
    let deviceName: String

    init(name: String, lines: Int) throws {
        directory = KernelDeviceTests.gpioSimRoot + "/" + name
        try Self.makeDirectory(directory)
        try Self.makeDirectory(directory + "/bank0")
        try Self.write("\(lines)", to: directory + "/bank0/num_lines")
        try Self.write("1", to: directory + "/live")
        chipName = try Self.read(directory + "/bank0/chip_name")
        deviceName = try Self.read(directory + "/dev_name")
    }

    /// Sets the simulated pull of line `offset`: `pull-up` or `pull-down`.
    func setPull(_ offset: UInt32, _ pull: String) throws {
        try Self.write(pull, to: "/sys/devices/platform/\(deviceName)/\(chipName)/sim_gpio\(offset)/pull")
    }

    func remove() {
        try? Self.write("0", to: directory + "/live")
        // Teardown: a directory left behind names itself in the next run's mkdir error.
        _ = rmdir(directory + "/bank0")
        _ = rmdir(directory)
    }

    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 else { throw HardwareError(.systemCall, "\(path): mkdir failed (errno \(errno))") }
    }

    /// Writes in place (configfs and sysfs take no temporary files).
    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    static func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A video node from the `vivid` test driver, or from `v4l2loopback` fed by ffmpeg's test source.
struct VirtualCamera: Sendable {
    let path: String
    /// `VIDIOC_QUERYCAP`'s driver: `vivid` or `v4l2 loopback`.
    let driver: String
    /// ffmpeg, when the node is a loopback that needs a producer.
    let ffmpeg: String?

    static func find() -> VirtualCamera? {
        let nodes = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []).filter { $0.hasPrefix("video") }.sorted()
        let ffmpeg = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }
        for node in nodes {
            guard let device = try? V4L2Device(path: "/dev/" + node) else { continue }
            let caps = device.capabilities
            if caps.driver == "vivid" && caps.canCapture && caps.canStream {
                return VirtualCamera(path: "/dev/" + node, driver: caps.driver, ffmpeg: nil)
            }
            if caps.driver == "v4l2 loopback", let ffmpeg {
                return VirtualCamera(path: "/dev/" + node, driver: caps.driver, ffmpeg: ffmpeg)
            }
        }
        return nil
    }

    /// For a loopback node: ffmpeg writing a 320x240 YUYV test pattern at 30 fps into it.
    func startProducer() throws -> Process? {
        guard let ffmpeg else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = ["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
                             "-pix_fmt", "yuyv422", "-f", "v4l2", path]
        process.standardInput = FileHandle.nullDevice
        try process.run()
        MonotonicClock.sleep(.seconds(1))  // until frames flow
        return process
    }
}
