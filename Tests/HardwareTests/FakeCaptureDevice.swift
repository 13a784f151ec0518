import Foundation
import Synchronization
@testable import Hardware

/// A scripted camera behind `V4L2Camera`'s device seam: opens succeed or fail as told, devices
/// serve 2x1 YUYV frames whose luma names the device (`16 + 10 × generation`) until unplugged,
/// and every open, loss and request is recorded with its time.
final class FakeCameraRig: Sendable {
    struct State {
        /// Errors the next opens throw, in order; when empty an open succeeds.
        var openFailures: [HardwareError] = []
        /// Every open attempt.
        var opens: [ContinuousClock.Instant] = []
        /// When a device reported itself lost.
        var losses: [ContinuousClock.Instant] = []
        /// Devices opened so far; the newest is the only one not unplugged.
        var generation = 0
        var unplugged = false
        /// Frames served per device generation.
        var served: [Int: Int] = [:]
        /// `requestedAt` of every frame asked for.
        var requests: [Duration] = []
    }

    let state = Mutex(State())
    let device: String
    let format = V4L2Format(.yuyv, width: 2, height: 1)

    init(device: String) { self.device = device }

    /// The opener handed to `V4L2Camera`.
    func open(_ configuration: V4L2Camera.Configuration) throws(HardwareError) -> (any CaptureDevice, V4L2Format) {
        let outcome: Result<Int, HardwareError> = state.withLock { state in
            state.opens.append(.now)
            if !state.openFailures.isEmpty { return .failure(state.openFailures.removeFirst()) }
            state.generation += 1
            state.unplugged = false
            return .success(state.generation)
        }
        return (FakeCaptureDevice(rig: self, generation: try outcome.get()), format)
    }

    /// Pulls the cable: the open device fails with `ENODEV`, and the next `failingOpens` opens
    /// find no node (`ENOENT`), as while the camera re-enumerates.
    func unplug(failingOpens: Int) {
        state.withLock { state in
            state.unplugged = true
            state.openFailures = Array(repeating: Errno.error("open", device, ENOENT), count: failingOpens)
        }
    }

    /// The luma of the frames device `generation` serves.
    static func luma(_ generation: Int) -> UInt8 { UInt8(16 + 10 * generation) }

    var snapshot: State { state.withLock { $0 } }
}

/// One opened fake device.
final class FakeCaptureDevice: CaptureDevice {
    let rig: FakeCameraRig
    let generation: Int

    init(rig: FakeCameraRig, generation: Int) {
        self.rig = rig
        self.generation = generation
    }

    func frame(capturedAfter requestedAt: Duration, deadline: Duration) throws(HardwareError) -> CapturedFrame {
        let lost = rig.state.withLock { state -> Bool in
            state.requests.append(requestedAt)
            if state.unplugged || state.generation != generation {
                state.losses.append(.now)
                return true
            }
            state.served[generation, default: 0] += 1
            return false
        }
        if lost { throw Errno.error("VIDIOC_DQBUF", rig.device, ENODEV) }
        let y = FakeCameraRig.luma(generation)
        return CapturedFrame(bytes: [y, 128, y, 128], sequence: 0, timestamp: MonotonicClock.now(), corrupt: false, staleDropped: 0)
    }
}
