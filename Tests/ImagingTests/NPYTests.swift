import Foundation
import Imaging
import Testing

@Suite struct NPYTests {
    @Test func floatAndByteArraysRoundTripThroughFiles() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let floats: [Float] = [0, -1.5, .pi, 1e-30, -0.0, 65504, 3, 4, 5, 6, 7, 8]
        let floatPath = directory.appendingPathComponent("f.npy").path
        try NPY.write(floats, shape: [1, 3, 2, 2], to: floatPath)
        let readFloats = try NPY.read(floatPath)
        #expect(readFloats.shape == [1, 3, 2, 2])
        #expect(readFloats.values.map(\.bitPattern) == floats.map(\.bitPattern))

        let bytes: [UInt8] = [0, 1, 127, 128, 254, 255]
        let bytePath = directory.appendingPathComponent("u.npy").path
        try NPY.write(bytes, shape: [6], to: bytePath)
        let readBytes = try NPY.read(bytePath)
        #expect(readBytes.shape == [6])
        #expect(readBytes.values == bytes.map(Float.init))
    }

    @Test func headersAreAlignedTo64Bytes() throws {
        for shape in [[], [5], [2, 3], [1, 3, 224, 224]] {
            let count = shape.reduce(1, *)
            let encoded = try NPY.encode([Float](repeating: 1, count: count), shape: shape)
            #expect((encoded.count - count * 4) % 64 == 0, "shape \(shape)")
            #expect(encoded[(encoded.count - count * 4) - 1] == 0x0A)
        }
    }

    @Test func version2HeadersAreRead() throws {
        let dictionary = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }"
        var header = Array(dictionary.utf8)
        while (12 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        let length = header.count
        let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0]
            + [UInt8(length & 0xFF), UInt8(length >> 8), 0, 0] + header + [9, 8, 7, 6]
        let array = try NPY.decode(bytes, source: "v2.npy")
        #expect(array.shape == [2, 2] && array.dataType == .uint8 && array.values == [9, 8, 7, 6])
    }

    @Test func unsupportedOrDamagedFilesAreRejectedNamingTheProblem() throws {
        let good = try NPY.encode([Float](repeating: 0, count: 4), shape: [4], source: "x")
        /// `good` with the first occurrence of `old` (same length as `new`) replaced.
        func replacing(_ old: String, with new: String) -> [UInt8] {
            let (old, new) = (Array(old.utf8), Array(new.utf8))
            precondition(old.count == new.count)
            guard let at = (0...(good.count - old.count)).first(where: { good[$0..<($0 + old.count)].elementsEqual(old) })
            else { return good }
            var bytes = good
            bytes.replaceSubrange(at..<(at + old.count), with: new)
            return bytes
        }
        let cases: [([UInt8], String)] = [
            (replacing("False", with: "True "), "fortran_order True"),
            (replacing("'<f4'", with: "'>f4'"), "unsupported dtype '>f4'"),
            (replacing("'<f4'", with: "'<f8'"), "unsupported dtype '<f8'"),
            (Array(good.dropLast(3)), "needs 16 data bytes, file has 13"),
            (Array("PK\u{3}\u{4}not numpy".utf8), "not a .npy file"),
            (Array(good.prefix(40)), "runs past the end"),
        ]
        for (bytes, fragment) in cases {
            do {
                _ = try NPY.decode(bytes, source: "bad.npy")
                Issue.record("accepted a file that should fail with \(fragment)")
            } catch {
                #expect(error.code == .badNPY)
                #expect(error.description.hasPrefix("bad.npy: "))
                #expect(error.message.contains(fragment), "\(error)")
            }
        }
    }
}
