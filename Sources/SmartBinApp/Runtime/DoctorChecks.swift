import Foundation
import Hardware
import Inference

/// The checks `smartbin doctor` adds to the hardware ones: the model, the BLAS kernels and the broker.
public enum DoctorChecks {
    public static func application(_ config: SmartBinConfig) -> [@Sendable () async -> [DoctorFinding]] {
        [
            {
                guard let path = config.model.path else {
                    return [DoctorFinding(.fail, "model", "no model configured", fix: "set model.path in the config")]
                }
                do {
                    let loaded = try LoadedModel(path: path, labelsPath: config.model.labels)
                    return [DoctorFinding(.ok, "model", "\(path): \(loaded.outputCount) classes, sha256 \(loaded.info.sha256.prefix(12))…")]
                } catch {
                    return [DoctorFinding(.fail, "model", "\(error)", fix: "check model.path, or recompile/export the model")]
                }
            },
            {
                let core = BLASRuntime.coreName
                if BLASRuntime.isMisdetected {
                    return [DoctorFinding(.warn, "blas", "OpenBLAS runs \(core) kernels; this CPU supports \(BLASRuntime.preferredCore() ?? "?")",
                                          fix: "unset OPENBLAS_CORETYPE or SMARTBIN_BLAS_CORE")]
                }
                return [DoctorFinding(.ok, "blas", "OpenBLAS kernels: \(core)" + (BLASRuntime.detectedBeforeCorrection.map { " (corrected from \($0))" } ?? ""))]
            },
            {
                let (host, port) = (config.mqtt.host, config.mqtt.port)
                if canConnect(host: host, port: port) {
                    return [DoctorFinding(.ok, "broker", "\(host):\(port) accepts connections")]
                }
                return [DoctorFinding(.fail, "broker", "\(host):\(port) does not accept TCP connections",
                                      fix: "start the broker or correct mqtt.host / mqtt.port")]
            },
        ]
    }

    /// Whether a TCP connection to host:port succeeds within two seconds.
    static func canConnect(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(result) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0
    }
}
