/// Decides which dequeued camera buffer, if any, holds a frame captured after a capture request
/// (pure: no device, no clock).
///
/// Why: an mmap ring stops filling once every buffer is full and none is queued. After the bin
/// has been idle, the buffers the driver hands back were filled right after the previous capture
/// — possibly minutes ago, showing the previous item. So the adapter drains the ring, re-queues
/// it and keeps waiting until a buffer passes this rule:
/// - a buffer stamped on `CLOCK_MONOTONIC` (`V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC`, which UVC and
///   the Pi's camera drivers set) is fresh when its timestamp is at or after the request. The
///   stamp is the start of the frame (`TSTAMP_SRC_SOE`) on UVC, its end (`EOF`) on most others;
///   with an end-of-frame stamp the exposure may have begun up to one frame interval before;
/// - a buffer stamped on another clock (or not at all) cannot be compared: it is fresh only when
///   dequeued after the ring had been drained once for this request (`afterDrain`), i.e. filled
///   after the request reached the camera's thread.
///
/// Among the fresh buffers of one drain the newest (dequeued last) not flagged corrupt wins, else
/// the newest corrupt one (the caller counts it and tries again); the rest are re-queued.
enum FrameFreshness {
    /// One buffer as `VIDIOC_DQBUF` returned it, reduced to what the rule needs.
    struct Buffer: Sendable, Hashable {
        /// Ring slot (`v4l2_buffer.index`).
        var index: UInt32
        /// The driver's frame counter (`v4l2_buffer.sequence`), for logs.
        var sequence: UInt32
        /// Capture time on `CLOCK_MONOTONIC`; nil when the driver stamps another clock.
        var timestamp: Duration?
        /// `V4L2_BUF_FLAG_ERROR`: the driver flagged the data as corrupt.
        var corrupt: Bool

        init(index: UInt32, sequence: UInt32, timestamp: Duration?, corrupt: Bool = false) {
            self.index = index
            self.sequence = sequence
            self.timestamp = timestamp
            self.corrupt = corrupt
        }
    }

    /// Whether `buffer` was captured at or after `requestedAt` (see the type's rule).
    /// - Parameters:
    ///   - requestedAt: when the capture was asked for, on `CLOCK_MONOTONIC`.
    ///   - afterDrain: the buffer was dequeued after the ring had been drained once for this request.
    static func isFresh(_ buffer: Buffer, requestedAt: Duration, afterDrain: Bool) -> Bool {
        guard let timestamp = buffer.timestamp else { return afterDrain }
        return timestamp >= requestedAt
    }

    /// The position in `drained` (one drain, in dequeue order: oldest first) of the newest fresh
    /// buffer, or nil when all are stale and the adapter must wait for the next frame.
    static func freshest(_ drained: [Buffer], requestedAt: Duration, afterDrain: Bool) -> Int? {
        let fresh = drained.indices.filter { isFresh(drained[$0], requestedAt: requestedAt, afterDrain: afterDrain) }
        return fresh.last { !drained[$0].corrupt } ?? fresh.last
    }

    /// The monotonic capture time of a buffer from its `flags` and `timestamp` fields, or nil when
    /// the flags name another clock (`V4L2_BUF_FLAG_TIMESTAMP_MASK` ≠ `…_MONOTONIC`).
    /// - Parameters:
    ///   - flags: `v4l2_buffer.flags`.
    ///   - seconds, microseconds: `v4l2_buffer.timestamp` (`struct timeval`).
    static func monotonicTimestamp(flags: UInt32, seconds: Int64, microseconds: Int64) -> Duration? {
        guard flags & timestampMask == timestampMonotonic else { return nil }
        return .seconds(seconds) + .microseconds(microseconds)
    }

    /// `V4L2_BUF_FLAG_TIMESTAMP_MASK` and `V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC` (linux/videodev2.h;
    /// part of the kernel ABI, checked against the header in the CV4L2 shim).
    static let timestampMask: UInt32 = 0xE000
    static let timestampMonotonic: UInt32 = 0x2000
}
