import Inference
import Foundation
BLASRuntime.correctCoreIfNeeded(arguments: CommandLine.arguments)
let args = CommandLine.arguments
do {
    let net = try Network.load(onnx: args[1])
    let data = try Data(contentsOf: URL(fileURLWithPath: args[2]))
    let input = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    for l in net.layerDescriptions { print(l) }
    let out = try net.forward(input)
    try out.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: args[3])) }
    print("core", BLASRuntime.coreName, "flops", net.flops)
    let t0 = Date()
    for _ in 0..<Int(args.count > 4 ? args[4] : "0")! { _ = try net.forward(input) }
    print("per iter ms", Date().timeIntervalSince(t0) * 1000 / Double(max(1, Int(args.count > 4 ? args[4] : "1")!)))
} catch { print("error: \(error)") }
