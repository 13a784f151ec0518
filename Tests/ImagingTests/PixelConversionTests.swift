import Imaging
import Testing

@Suite struct PixelConversionTests {
    /// BT.601 limited-range YCbCr -> RGB in Double, from Kr = 0.299 and Kb = 0.114.
    static func reference(y: Int, u: Int, v: Int) -> [Double] {
        let kr = 0.299, kb = 0.114, kg = 1 - kr - kb
        let luma = (Double(y) - 16) * 255 / 219
        let cb = (Double(u) - 128) * 255 / 224, cr = (Double(v) - 128) * 255 / 224
        let r = luma + 2 * (1 - kr) * cr
        let b = luma + 2 * (1 - kb) * cb
        let g = luma - (2 * kb * (1 - kb) / kg) * cb - (2 * kr * (1 - kr) / kg) * cr
        return [r, g, b].map { min(255, max(0, $0)) }
    }

    @Test func yuyvMatchesTheRealValuedBT601ConversionWithinOneLevel() throws {
        // Every (Y0, Y1, U, V) on a grid, one pixel pair per combination.
        var bytes: [UInt8] = []
        var triples: [(Int, Int, Int)] = []
        for u in stride(from: 0, through: 255, by: 5) {
            for v in stride(from: 0, through: 255, by: 5) {
                for y in stride(from: 0, through: 255, by: 10) {
                    let y1 = 255 - y
                    bytes += [UInt8(y), UInt8(u), UInt8(y1), UInt8(v)]
                    triples += [(y, u, v), (y1, u, v)]
                }
            }
        }
        let width = triples.count
        let image = try PixelConversion.yuyvToRGB(bytes, width: width, height: 1)
        var worst = 0.0
        for (index, (y, u, v)) in triples.enumerated() {
            let (r, g, b) = image.pixel(x: index, y: 0)
            for (got, want) in zip([r, g, b], Self.reference(y: y, u: u, v: v)) {
                worst = max(worst, abs(Double(got) - want))
            }
        }
        // Rounding gives 0.5; the 16-bit constants add well under 0.5 more.
        #expect(worst < 1.0, "max |Δ| = \(worst)")
    }

    @Test func nv12AgreesWithYUYVForTheSameSamples() throws {
        let (width, height) = (6, 4)
        var random = SplitMix64(seed: 3)
        let luma = (0..<(width * height)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let chroma = (0..<(width / 2 * height / 2 * 2)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let nv12 = try PixelConversion.nv12ToRGB(luma + chroma, width: width, height: height)
        // The same samples as YUYV: each row repeats the chroma of its row pair.
        var yuyv: [UInt8] = []
        for y in 0..<height {
            for pair in 0..<(width / 2) {
                let c = (y / 2) * width + pair * 2
                yuyv += [luma[y * width + pair * 2], chroma[c], luma[y * width + pair * 2 + 1], chroma[c + 1]]
            }
        }
        #expect(nv12 == (try PixelConversion.yuyvToRGB(yuyv, width: width, height: height)))
    }

    @Test func paddedLinesAreSkipped() throws {
        let (width, height, pitch) = (4, 2, 12)
        var padded: [UInt8] = []
        var tight: [UInt8] = []
        for row in 0..<height {
            let line: [UInt8] = [UInt8(100 + row), 90, 150, 200, 60, 30, 70, 220]
            tight += line
            padded += line + [0xEE, 0xEE, 0xEE, 0xEE]
        }
        #expect(try PixelConversion.yuyvToRGB(padded, width: width, height: height, bytesPerLine: pitch)
            == (try PixelConversion.yuyvToRGB(tight, width: width, height: height)))
    }

    @Test func wrongSizesAreRejectedWithAClearMessage() {
        do {
            _ = try PixelConversion.yuyvToRGB([UInt8](repeating: 0, count: 10), width: 4, height: 2)
            Issue.record("accepted 10 bytes for 4x2 YUYV")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.description == "YUYV frame 4x2: expected 16 bytes (8 per line), got 10")
        }
        #expect(throws: ImagingError.self) { try PixelConversion.yuyvToRGB([0, 0, 0, 0, 0, 0], width: 3, height: 1) }
        #expect(throws: ImagingError.self) { try PixelConversion.nv12ToRGB([UInt8](repeating: 0, count: 6), width: 2, height: 3) }
        #expect(throws: ImagingError.self) { try PixelConversion.nv12ToRGB([UInt8](repeating: 0, count: 5), width: 2, height: 2) }
        #expect(throws: ImagingError.self) {
            try PixelConversion.nv12ToRGB([UInt8](repeating: 0, count: 6), width: 2, height: 2, bytesPerLine: 1)
        }
    }
}
