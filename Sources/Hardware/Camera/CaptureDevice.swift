/// What `V4L2Camera`'s worker thread needs of an open capture device: `V4L2Device`, and a
/// scripted fake in the tests (device lost, reopened).
///
/// Not `Sendable`: a device lives on the camera's worker thread.
protocol CaptureDevice: AnyObject {
    /// Waits for a frame captured at or after `requestedAt` (see `FrameFreshness`), dropping
    /// older ones, and returns a copy of its bytes. Blocks the calling thread until `deadline`
    /// at most.
    /// - Parameters:
    ///   - requestedAt: when the capture was asked for, on `CLOCK_MONOTONIC`.
    ///   - deadline: the latest time to wait until, on `CLOCK_MONOTONIC`.
    /// - Throws: `HardwareError.timeout` naming the device when no such frame arrived in time,
    ///   `.deviceLost` on `ENODEV`/`EIO` (unplugged), naming the call.
    func frame(capturedAfter requestedAt: Duration, deadline: Duration) throws(HardwareError) -> CapturedFrame
}

/// One frame copied out of a capture buffer.
struct CapturedFrame: Sendable, Hashable {
    /// The buffer's used bytes (`bytesused`).
    var bytes: [UInt8]
    /// The driver's frame counter.
    var sequence: UInt32
    /// Capture time on `CLOCK_MONOTONIC`, when the driver stamps that clock.
    var timestamp: Duration?
    /// The driver flagged the data as corrupt (`V4L2_BUF_FLAG_ERROR`).
    var corrupt: Bool
    /// Buffers dequeued and dropped as older than the request while waiting for this one.
    var staleDropped: Int
}
