import CV4L2
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The only file that imports CV4L2 (libv4l2 through the shim). `V4L2Camera` drives it from its
// worker thread; nothing here makes a decision beyond what one ioctl answers.

/// One open V4L2 capture device with its mmap ring, closed in `deinit`.
///
/// Opening needs read/write access to the node (`video` group). Every call may block the calling
/// thread for at most its timeout; not `Sendable` — it lives on the camera's worker thread.
final class V4L2Device: CaptureDevice {
    /// What `VIDIOC_QUERYCAP` said.
    struct Capabilities: Sendable, Hashable {
        var driver: String
        var card: String
        var busInfo: String
        var canCapture: Bool
        var canStream: Bool
    }

    let path: String
    let capabilities: Capabilities
    private(set) var format: V4L2Format?
    private var fd: Int32
    private var buffers: [(start: UnsafeMutableRawPointer, length: Int)] = []
    private var streaming = false

    /// Opens `path` non-blocking and queries its capabilities.
    /// - Throws: `HardwareError.notFound` naming the device when it does not exist,
    ///   `.permissionDenied` (not in `video`), `.busy`, or `.unsupported` when it is not a V4L2
    ///   capture device (`VIDIOC_QUERYCAP` fails).
    init(path: String) throws(HardwareError) {
        self.path = path
        let fd = try V4L2.check("open", path) { sb_v4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC) }
        var cap = v4l2_capability()
        do {
            try V4L2.ioctl(fd, SB_VIDIOC_QUERYCAP, &cap, "VIDIOC_QUERYCAP", path)
        } catch {
            _ = sb_v4l2_close(fd)
            throw error
        }
        let caps = cap.capabilities & SB_V4L2_CAP_DEVICE_CAPS != 0 ? cap.device_caps : cap.capabilities
        self.fd = fd
        self.capabilities = Capabilities(
            driver: V4L2.string(cap.driver), card: V4L2.string(cap.card), busInfo: V4L2.string(cap.bus_info),
            canCapture: caps & SB_V4L2_CAP_VIDEO_CAPTURE != 0, canStream: caps & SB_V4L2_CAP_STREAMING != 0)
    }

    deinit {
        if streaming { stopStreaming() }
        unmapAll()
        _ = sb_v4l2_close(fd)
    }

    /// The pixel formats the device lists (`VIDIOC_ENUM_FMT`), as FourCC codes.
    func pixelFormats() -> [UInt32] {
        var result: [UInt32] = []
        for index in 0..<64 {
            var desc = v4l2_fmtdesc()
            desc.index = UInt32(index)
            desc.type = SB_V4L2_BUF_TYPE_VIDEO_CAPTURE
            guard (try? V4L2.ioctl(fd, SB_VIDIOC_ENUM_FMT, &desc, "VIDIOC_ENUM_FMT", path)) != nil else { break }
            result.append(desc.pixelformat)
        }
        return result
    }

    /// Asks for `requested` (`VIDIOC_S_FMT`) and returns what the driver chose.
    /// - Throws: `HardwareError` naming the device and `VIDIOC_S_FMT`.
    func setFormat(_ requested: V4L2Format) throws(HardwareError) -> V4L2Format {
        var fmt = v4l2_format()
        fmt.type = SB_V4L2_BUF_TYPE_VIDEO_CAPTURE
        fmt.fmt.pix.width = UInt32(requested.width)
        fmt.fmt.pix.height = UInt32(requested.height)
        fmt.fmt.pix.pixelformat = requested.fourcc
        fmt.fmt.pix.field = SB_V4L2_FIELD_ANY
        try V4L2.ioctl(fd, SB_VIDIOC_S_FMT, &fmt, "VIDIOC_S_FMT", path)
        let chosen = V4L2Format(fourcc: fmt.fmt.pix.pixelformat, width: Int(fmt.fmt.pix.width),
                                height: Int(fmt.fmt.pix.height), bytesPerLine: Int(fmt.fmt.pix.bytesperline),
                                sizeImage: Int(fmt.fmt.pix.sizeimage))
        format = chosen
        return chosen
    }

    /// Requests `count` mmap buffers (the driver may grant 2…count), maps and queues them, and
    /// starts streaming.
    /// - Throws: `HardwareError` naming the device and the ioctl (`VIDIOC_REQBUFS`,
    ///   `VIDIOC_QUERYBUF`, `mmap`, `VIDIOC_QBUF`, `VIDIOC_STREAMON`).
    func startStreaming(bufferCount count: Int) throws(HardwareError) {
        var request = v4l2_requestbuffers()
        request.count = UInt32(count)
        request.type = SB_V4L2_BUF_TYPE_VIDEO_CAPTURE
        request.memory = SB_V4L2_MEMORY_MMAP
        try V4L2.ioctl(fd, SB_VIDIOC_REQBUFS, &request, "VIDIOC_REQBUFS", path)
        guard request.count >= 2 else {
            throw HardwareError(.unsupported, "\(path): VIDIOC_REQBUFS granted \(request.count) buffers, need at least 2")
        }
        for index in 0..<request.count {
            var buffer = emptyBuffer(index: index)
            try V4L2.ioctl(fd, SB_VIDIOC_QUERYBUF, &buffer, "VIDIOC_QUERYBUF", path)
            guard let start = sb_v4l2_mmap_buffer(fd, Int(buffer.length), Int64(buffer.m.offset)) else {
                throw Errno.error("mmap (buffer \(index))", path, errno)
            }
            buffers.append((start, Int(buffer.length)))
            try V4L2.ioctl(fd, SB_VIDIOC_QBUF, &buffer, "VIDIOC_QBUF", path)
        }
        var type = Int32(SB_V4L2_BUF_TYPE_VIDEO_CAPTURE)
        try V4L2.ioctl(fd, SB_VIDIOC_STREAMON, &type, "VIDIOC_STREAMON", path)
        streaming = true
    }

    /// Drains the ring, keeps the newest buffer captured at or after `requestedAt`
    /// (`FrameFreshness`), re-queues the rest and, while none is fresh, waits for the next frame
    /// until `deadline`. Blocks the calling thread until `deadline` at most.
    /// - Throws: `HardwareError.timeout` naming the device and how many stale buffers were
    ///   dropped; `.deviceLost` on `ENODEV`/`EIO` (unplugged), naming the ioctl.
    func frame(capturedAfter requestedAt: Duration, deadline: Duration) throws(HardwareError) -> CapturedFrame {
        var afterDrain = false
        var dropped = 0
        while true {
            let drained = try dequeueAll()
            let views = drained.map(Self.view)
            let pick = FrameFreshness.freshest(views, requestedAt: requestedAt, afterDrain: afterDrain)
            var copied: [UInt8] = []
            if let pick {
                let buffer = drained[pick]
                let mapping = buffers[Int(buffer.index)]
                copied = [UInt8](UnsafeRawBufferPointer(start: mapping.start, count: min(Int(buffer.bytesused), mapping.length)))
            }
            for var buffer in drained { try V4L2.ioctl(fd, SB_VIDIOC_QBUF, &buffer, "VIDIOC_QBUF", path) }
            if let pick {
                let view = views[pick]
                return CapturedFrame(bytes: copied, sequence: view.sequence, timestamp: view.timestamp,
                                     corrupt: view.corrupt, staleDropped: dropped + pick)
            }
            dropped += drained.count
            afterDrain = true
            let now = MonotonicClock.now()
            guard now < deadline, try waitReadable(for: deadline - now) else {
                throw HardwareError(.timeout, "\(path): no frame captured after the request within the capture timeout (VIDIOC_DQBUF; \(dropped) older buffer(s) dropped)", errno: ETIMEDOUT)
            }
        }
    }

    /// Every buffer the driver has filled, in dequeue order (`VIDIOC_DQBUF` until `EAGAIN`).
    private func dequeueAll() throws(HardwareError) -> [v4l2_buffer] {
        var drained: [v4l2_buffer] = []
        while true {
            var buffer = emptyBuffer(index: 0)
            do {
                try V4L2.ioctl(fd, SB_VIDIOC_DQBUF, &buffer, "VIDIOC_DQBUF", path)
            } catch where error.errno == EAGAIN {
                return drained
            } catch {
                // Give back what was taken before failing, so a retry finds the whole ring.
                for var taken in drained { _ = try? V4L2.ioctl(fd, SB_VIDIOC_QBUF, &taken, "VIDIOC_QBUF", path) }
                throw error
            }
            drained.append(buffer)
        }
    }

    /// `poll` for a filled buffer; false when `timeout` passed first.
    private func waitReadable(for timeout: Duration) throws(HardwareError) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let (seconds, attoseconds) = timeout.components
        // Rounded up, so the wait never ends just before the deadline.
        let milliseconds = Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        let ready = try V4L2.check("poll", path) { poll(&pfd, 1, milliseconds) }
        guard ready > 0 else { return false }
        if pfd.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && pfd.revents & Int16(POLLIN) == 0 {
            throw HardwareError(.deviceLost, "\(path): poll reported an error condition (revents \(pfd.revents))", errno: ENODEV)
        }
        return true
    }

    /// A dequeued buffer as the freshness rule sees it.
    private static func view(_ buffer: v4l2_buffer) -> FrameFreshness.Buffer {
        FrameFreshness.Buffer(
            index: buffer.index, sequence: buffer.sequence,
            timestamp: FrameFreshness.monotonicTimestamp(flags: buffer.flags, seconds: Int64(buffer.timestamp.tv_sec),
                                                         microseconds: Int64(buffer.timestamp.tv_usec)),
            corrupt: buffer.flags & SB_V4L2_BUF_FLAG_ERROR != 0)
    }

    private func stopStreaming() {
        var type = Int32(SB_V4L2_BUF_TYPE_VIDEO_CAPTURE)
        // Teardown: a failure here (device already gone) leaves nothing to undo.
        _ = try? V4L2.ioctl(fd, SB_VIDIOC_STREAMOFF, &type, "VIDIOC_STREAMOFF", path)
        streaming = false
    }

    private func unmapAll() {
        for buffer in buffers { _ = sb_v4l2_munmap(buffer.start, buffer.length) }
        buffers.removeAll()
    }

    private func emptyBuffer(index: UInt32) -> v4l2_buffer {
        var buffer = v4l2_buffer()
        buffer.index = index
        buffer.type = SB_V4L2_BUF_TYPE_VIDEO_CAPTURE
        buffer.memory = SB_V4L2_MEMORY_MMAP
        return buffer
    }
}

/// The V4L2 adapter's one syscall helper: retries `EINTR`, throws with errno, call and device.
private enum V4L2 {
    static func ioctl<T>(_ fd: Int32, _ request: UInt, _ argument: inout T, _ name: String, _ path: String) throws(HardwareError) {
        _ = try check(name, path) { withUnsafeMutablePointer(to: &argument) { sb_v4l2_ioctl(fd, request, $0) } }
    }

    static func check(_ name: String, _ path: String, _ body: () -> Int32) throws(HardwareError) -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            // libv4l2's open already issues VIDIOC_QUERYCAP, so either call can find a non-V4L2 node.
            if (name == "open" || name == "VIDIOC_QUERYCAP") && (code == ENOTTY || code == EINVAL) {
                throw HardwareError(.unsupported, "\(path): \(name) failed: not a V4L2 device (VIDIOC_QUERYCAP: \(Errno.text(code)))", errno: code)
            }
            throw Errno.error(name, path, code)
        }
    }

    /// A fixed-size C char array (`__u8 driver[16]`) as a string.
    static func string<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
