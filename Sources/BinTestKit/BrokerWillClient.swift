import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `mosquitto_pub -l` client that holds a connection open with a Last Will, to kill -9 in
/// tests and watch the broker publish the Will.
public final class BrokerWillClient: @unchecked Sendable {
    private let process: BrokerChildProcess
    private let stdinWrite: Int32

    private init(process: BrokerChildProcess, stdinWrite: Int32) {
        self.process = process
        self.stdinWrite = stdinWrite
    }

    /// Connects a client to 127.0.0.1:`port` with Will `willPayload` on `willTopic`
    /// (QoS 1, retained) and publishes `online` retained on `willTopic` through it; wait for
    /// that message (e.g. with a `BrokerSubscriber`) to know the connection is up.
    public static func start(port: Int, willTopic: String,
                             willPayload: String = "offline") throws -> BrokerWillClient {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw BrokerHarnessError("pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let process: BrokerChildProcess
        do {
            process = try BrokerChildProcess(
                executable: BrokerSubscriber.pubExecutable,
                arguments: ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-r", "-t", willTopic, "-l",
                            "--will-topic", willTopic, "--will-payload", willPayload,
                            "--will-qos", "1", "--will-retain", "-k", "5"],
                stdinFD: fds[0])
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[0])
        let line = Array("online\n".utf8)
        _ = line.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        return BrokerWillClient(process: process, stdinWrite: fds[1])
    }

    public var pid: Int32 { process.pid }

    /// SIGKILLs the client: no DISCONNECT is sent, so the broker publishes the Will.
    public func killHard() async {
        process.signal(SIGKILL)
        _ = await process.waitForExit(timeout: .seconds(2))
    }

    deinit {
        close(stdinWrite)
    }
}
