import BinTestKit
import Foundation

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "smartbin-it-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
