import BinCore
import Foundation
import Logging
import Synchronization

/// A V4L2 camera (USB webcam, or the Pi camera through a V4L2 bridge) as a `FrameSource`.
///
/// `init` opens the device, checks it can capture and stream, negotiates the pixel format and
/// size, maps a small buffer ring and starts streaming, so configuration errors surface at
/// start-up naming the device and the ioctl. A dedicated worker thread then owns the device:
/// `capture()` hands it a request stamped with the time it was made, the worker drops the
/// buffers filled before that time (after an idle spell every buffer in the ring is old) and
/// returns the first frame captured after it (`FrameFreshness`) through the injected decoder.
/// If the device disappears (`ENODEV`/`EIO`, e.g. unplugged) the worker closes it, reports
/// `health == .fault(…)`, fails captures fast with the cause, and reopens it with exponential
/// back-off. Needs read/write access to the node (`video` group).
public final class V4L2Camera: FrameSource {
    public struct Configuration: Sendable, Hashable {
        /// Device node, e.g. `/dev/video0`.
        public var device: String
        public var pixelFormat: V4L2PixelFormat
        /// Requested size in pixels (the driver may pick the nearest it supports).
        public var width: Int
        public var height: Int
        /// mmap buffers to request (2…4; fewer means fresher frames, more tolerates slow readers).
        public var bufferCount: Int
        /// Frames discarded after every (re)start, while auto exposure and white balance settle.
        public var warmupFrames: Int
        /// Longest wait for a frame captured after the request (a few frame intervals).
        public var frameTimeout: Duration
        /// Back-off between reopen attempts after the device is lost.
        public var reopen: RetryPolicy

        public init(device: String = "/dev/video0", pixelFormat: V4L2PixelFormat = .mjpeg,
                    width: Int = 640, height: Int = 480, bufferCount: Int = 3, warmupFrames: Int = 5,
                    frameTimeout: Duration = .seconds(1),
                    reopen: RetryPolicy = RetryPolicy(maxAttempts: .max, initialBackoff: .milliseconds(500),
                                                      multiplier: 2, maxBackoff: .seconds(30))) {
            self.device = device
            self.pixelFormat = pixelFormat
            self.width = width
            self.height = height
            self.bufferCount = min(max(bufferCount, 2), 4)
            self.warmupFrames = max(0, warmupFrames)
            self.frameTimeout = frameTimeout
            self.reopen = reopen
        }
    }

    /// Whether the camera is delivering frames.
    public enum Health: Sendable, Hashable {
        case ok
        /// The device is lost or failing; the text says why and when it is retried.
        case fault(String)
    }

    /// Opens, checks, negotiates and starts streaming: the V4L2 device in production, a fake in
    /// the tests. Called on the calling thread by `init`, on the worker thread for reopens.
    typealias Opener = @Sendable (Configuration, Logger) throws(HardwareError) -> (any CaptureDevice, V4L2Format)

    public let configuration: Configuration
    private let mailbox: CameraMailbox

    /// Opens and starts the camera.
    /// - Parameters:
    ///   - decodeMJPEG: JPEG bytes → RGB frame (`FrameAssembler.libjpegMJPEG` in the firmware).
    ///   - convertYUYV: tightly packed YUYV bytes → RGB frame (`FrameAssembler.imagingYUYV`).
    /// - Throws: `HardwareError` naming the device: `.notFound` (`/dev/video0` missing),
    ///   `.permissionDenied` (not in `video`), `.unsupported` (not a capture/streaming device,
    ///   pixel format refused), or the failing ioctl.
    public convenience init(_ configuration: Configuration,
                            decodeMJPEG: @escaping FrameAssembler.Decoder,
                            convertYUYV: @escaping FrameAssembler.Decoder,
                            logger: Logger = Logger(label: "smartbin.camera")) throws(HardwareError) {
        try self.init(configuration, decodeMJPEG: decodeMJPEG, convertYUYV: convertYUYV, logger: logger,
                      open: { configuration, logger throws(HardwareError) in try V4L2Camera.start(configuration, logger: logger) })
    }

    /// Opens the camera through `open` (the seam the tests use to lose and restore a device).
    init(_ configuration: Configuration, decodeMJPEG: @escaping FrameAssembler.Decoder,
         convertYUYV: @escaping FrameAssembler.Decoder, logger: Logger = Logger(label: "smartbin.camera"),
         open: @escaping Opener) throws(HardwareError) {
        self.configuration = configuration
        let (device, format) = try open(configuration, logger)
        let assembler = FrameAssembler(format: format, device: configuration.device,
                                       decodeMJPEG: decodeMJPEG, convertYUYV: convertYUYV)
        self.mailbox = CameraMailbox()
        let handoff = Mutex<(any CaptureDevice)?>(device)
        let started = handoff.withLock { held -> (any CaptureDevice)? in
            let taken = held
            held = nil
            return taken
        }
        let mailbox = self.mailbox
        BlockingThread.start(name: "camera \(configuration.device)") {
            var worker = CameraWorker(configuration: configuration, assembler: assembler, device: started,
                                      open: open, mailbox: mailbox, logger: logger)
            worker.run()
        }
    }

    deinit { mailbox.stop() }

    /// A frame captured after this call, as RGB. Waits at most `frameTimeout` (plus decode time)
    /// on the worker once it takes the request.
    /// - Throws: `HardwareError.deviceLost` while the camera is being reopened (the message says
    ///   why it was lost and when it is retried), `.timeout` when no new frame arrived, `.badData`
    ///   for an undecodable frame.
    public func capture() async throws -> Frame {
        let requestedAt = MonotonicClock.now()
        return try await withCheckedThrowingContinuation { continuation in
            mailbox.submit(CameraRequest(continuation: continuation, requestedAt: requestedAt))
        }
    }

    /// Current health, for the status topic and the doctor.
    public var health: Health { mailbox.health }

    /// Stops the worker and closes the device (also done on deinit). Pending captures fail.
    public func stop() { mailbox.stop() }

    /// Opens, checks, negotiates and starts streaming (on the calling thread).
    static func start(_ configuration: Configuration, logger: Logger) throws(HardwareError) -> (any CaptureDevice, V4L2Format) {
        let path = configuration.device
        let device = try V4L2Device(path: path)
        let caps = device.capabilities
        guard caps.canCapture else {
            throw HardwareError(.unsupported, "\(path): '\(caps.card)' (\(caps.driver)) is not a video capture device (VIDIOC_QUERYCAP); pick the capture node (v4l2-ctl --list-devices)")
        }
        guard caps.canStream else {
            throw HardwareError(.unsupported, "\(path): '\(caps.card)' (\(caps.driver)) does not support streaming I/O (VIDIOC_QUERYCAP)")
        }
        let requested = V4L2Format(configuration.pixelFormat, width: configuration.width, height: configuration.height)
        let chosen = try device.setFormat(requested)
        if let note = try V4L2Format.accept(requested: requested, chosen: chosen, device: path) {
            logger.warning("camera size differs from the profile", metadata: ["detail": "\(note)"])
        }
        try device.startStreaming(bufferCount: configuration.bufferCount)
        return (device, chosen)
    }
}

/// One `capture()` waiting for the worker.
private struct CameraRequest {
    var continuation: CheckedContinuation<Frame, any Error>
    /// When `capture()` was called, on `CLOCK_MONOTONIC`: the frame must be newer.
    var requestedAt: Duration
}

/// Requests from `capture()` to the worker, and the worker's health, guarded by one condition.
private final class CameraMailbox: @unchecked Sendable {
    // All stored properties are guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [CameraRequest] = []
    private var stopped = false
    private var currentHealth: V4L2Camera.Health = .ok

    var health: V4L2Camera.Health {
        condition.lock(); defer { condition.unlock() }
        return currentHealth
    }

    func submit(_ request: CameraRequest) {
        condition.lock()
        if stopped {
            condition.unlock()
            request.continuation.resume(throwing: HardwareError(.deviceLost, "camera stopped"))
            return
        }
        pending.append(request)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    func setHealth(_ health: V4L2Camera.Health) {
        condition.lock(); currentHealth = health; condition.unlock()
    }

    /// Waits for requests, a stop, or `deadline`; returns the requests taken and whether to stop.
    func next(until deadline: Date?) -> (requests: [CameraRequest], stop: Bool) {
        condition.lock(); defer { condition.unlock() }
        while pending.isEmpty && !stopped {
            if let deadline {
                if !condition.wait(until: deadline) { break }
            } else {
                condition.wait()
            }
        }
        let requests = pending
        pending.removeAll()
        return (requests, stopped)
    }
}

/// The camera's worker thread: the only code that touches the capture device.
private struct CameraWorker {
    let configuration: V4L2Camera.Configuration
    var assembler: FrameAssembler
    var device: (any CaptureDevice)?
    let open: V4L2Camera.Opener
    let mailbox: CameraMailbox
    let logger: Logger
    var failures = 0
    var nextReopen: Date?
    /// Why the device was lost (or why the last reopen failed), for captures failed meanwhile.
    var lastFault = ""
    var warmupLeft: Int

    init(configuration: V4L2Camera.Configuration, assembler: FrameAssembler, device: (any CaptureDevice)?,
         open: @escaping V4L2Camera.Opener, mailbox: CameraMailbox, logger: Logger) {
        self.configuration = configuration
        self.assembler = assembler
        self.device = device
        self.open = open
        self.mailbox = mailbox
        self.logger = logger
        self.warmupLeft = configuration.warmupFrames
    }

    mutating func run() {
        while true {
            let (requests, stop) = mailbox.next(until: device == nil ? nextReopen : nil)
            if stop {
                device = nil
                for request in requests {
                    request.continuation.resume(throwing: HardwareError(.deviceLost, "\(configuration.device): camera stopped"))
                }
                return
            }
            if device == nil, nextReopen.map({ Date() >= $0 }) ?? true { reopen() }
            guard let newest = requests.map(\.requestedAt).max() else { continue }
            // One frame newer than the newest request answers every request taken together.
            let result = Result { () throws(HardwareError) -> Frame in try grab(requestedAt: newest) }
            for request in requests { request.continuation.resume(with: result.mapError { $0 as any Error }) }
        }
    }

    private mutating func grab(requestedAt: Duration) throws(HardwareError) -> Frame {
        guard let device else {
            let retry = nextReopen.map { String(format: "%.1f s", max(0, $0.timeIntervalSinceNow)) } ?? "now"
            throw HardwareError(.deviceLost, "\(configuration.device): camera unavailable (\(lastFault)); reopening in \(retry)")
        }
        do throws(HardwareError) {
            while warmupLeft > 0 {
                // Each warm-up frame is a new one: auto exposure needs frames, not old buffers.
                _ = try device.frame(capturedAfter: MonotonicClock.now(), deadline: MonotonicClock.now() + configuration.frameTimeout)
                warmupLeft -= 1
            }
            // A driver may flag a buffer as corrupt (USB packet loss); try a few more.
            for _ in 0..<3 {
                let captured = try device.frame(capturedAfter: requestedAt, deadline: MonotonicClock.now() + configuration.frameTimeout)
                if captured.corrupt || captured.bytes.isEmpty { continue }
                if captured.staleDropped > 0 {
                    logger.debug("dropped stale camera buffers", metadata: ["device": "\(configuration.device)", "count": "\(captured.staleDropped)"])
                }
                return try assembler.assemble(captured.bytes)
            }
            throw HardwareError(.badData, "\(configuration.device): three corrupt frames in a row (V4L2_BUF_FLAG_ERROR)")
        } catch where error.code == .deviceLost {
            lose(error)
            throw error
        }
    }

    private mutating func lose(_ error: HardwareError) {
        device = nil
        failures += 1
        let delay = configuration.reopen.backoff(forAttempt: failures)
        nextReopen = Date().addingTimeInterval(Self.seconds(delay))
        lastFault = error.message
        mailbox.setHealth(.fault("\(error.message); reopening in \(delay)"))
        logger.error("camera lost", metadata: ["device": "\(configuration.device)", "error": "\(error)", "retry_in": "\(delay)"])
    }

    private mutating func reopen() {
        do {
            let (opened, format) = try open(configuration, logger)
            device = opened
            assembler.format = format
            warmupLeft = configuration.warmupFrames
            failures = 0
            nextReopen = nil
            lastFault = ""
            mailbox.setHealth(.ok)
            logger.notice("camera reopened", metadata: ["device": "\(configuration.device)"])
        } catch {
            lose(error)
        }
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
