import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `mosquitto_pub -l` client that holds a connection open with a Last Will, to kill -9 in
/// tests and watch the broker publish the Will.
public final class BrokerWillClient: @unchecked Sendable {
    private let process = Process()
    private let stdin = Pipe()

    /// Connects a client to 127.0.0.1:`port` with Will `willPayload` on `willTopic`
    /// (QoS 1, retained) and publishes `online` retained on `willTopic` through it; wait for
    /// that message (e.g. with a `BrokerSubscriber`) to know the connection is up.
    public static func start(port: Int, willTopic: String,
                             willPayload: String = "offline") throws -> BrokerWillClient {
        let client = BrokerWillClient()
        client.process.executableURL = URL(fileURLWithPath: BrokerSubscriber.pubExecutable)
        client.process.arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-r",
                                    "-t", willTopic, "-l",
                                    "--will-topic", willTopic, "--will-payload", willPayload,
                                    "--will-qos", "1", "--will-retain", "-k", "5"]
        client.process.standardInput = client.stdin
        client.process.standardOutput = FileHandle.nullDevice
        client.process.standardError = FileHandle.nullDevice
        try client.process.run()
        client.stdin.fileHandleForWriting.write(Data("online\n".utf8))
        return client
    }

    public var pid: Int32 { process.processIdentifier }

    /// SIGKILLs the client: no DISCONNECT is sent, so the broker publishes the Will.
    public func killHard() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = await MosquittoBroker.waitForExit(process, timeout: .seconds(2))
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
