import Foundation
import Imaging
import Testing

@Suite struct RGBImageTests {
    /// Real-valued antialiased triangle-filter resampling along one axis, written from the
    /// definition (half-pixel centres, support scaled by the downscale factor), in Double.
    static func referenceWeights(input: Int, output: Int) -> [[(index: Int, weight: Double)]] {
        let scale = Double(input) / Double(output)
        let stretch = max(scale, 1)
        return (0..<output).map { i in
            let centre = (Double(i) + 0.5) * scale
            var taps: [(Int, Double)] = []
            for j in 0..<input {
                let distance = abs((Double(j) + 0.5 - centre) / stretch)
                if distance < 1 { taps.append((j, 1 - distance)) }
            }
            let total = taps.reduce(0) { $0 + $1.1 }
            return taps.map { ($0.0, $0.1 / total) }
        }
    }

    /// Two passes (horizontal, then vertical), each rounded to bytes, as documented.
    static func referenceResize(_ image: RGBImage, width: Int, height: Int) -> [UInt8] {
        let horizontal = referenceWeights(input: image.width, output: width)
        let vertical = referenceWeights(input: image.height, output: height)
        var temp = [UInt8](repeating: 0, count: width * image.height * 3)
        for y in 0..<image.height {
            for x in 0..<width {
                for c in 0..<3 {
                    let sum = horizontal[x].reduce(0.0) { $0 + $1.weight * Double(image.pixels[(y * image.width + $1.index) * 3 + c]) }
                    temp[(y * width + x) * 3 + c] = UInt8(max(0, min(255, sum.rounded())))
                }
            }
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    let sum = vertical[y].reduce(0.0) { $0 + $1.weight * Double(temp[($1.index * width + x) * 3 + c]) }
                    out[(y * width + x) * 3 + c] = UInt8(max(0, min(255, sum.rounded())))
                }
            }
        }
        return out
    }

    @Test(arguments: [(64, 48, 21, 16), (64, 48, 224, 224), (50, 30, 50, 17), (50, 30, 13, 30), (7, 5, 16, 11)])
    func resizeMatchesTheRealValuedFilterWithinOneLevel(w: Int, h: Int, outW: Int, outH: Int) {
        let image = TestSupport.noisy(width: w, height: h, seed: UInt64(w * 1000 + outW))
        let ours = image.resized(width: outW, height: outH)
        #expect(ours.width == outW && ours.height == outH)
        let reference = Self.referenceResize(image, width: outW, height: outH)
        let worst = zip(ours.pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 0
        // Fixed-point weights may flip a rounding per pass: at most 1 level per pass.
        #expect(worst <= 2, "max difference \(worst)")
    }

    @Test func resizingAConstantImageKeepsItsColour() {
        let image = RGBImage(width: 37, height: 23, red: 200, green: 17, blue: 99)
        for (w, h) in [(10, 10), (100, 7), (37, 80), (1, 1)] {
            #expect(image.resized(width: w, height: h) == RGBImage(width: w, height: h, red: 200, green: 17, blue: 99))
        }
    }

    @Test func resizingToTheSameSizeIsTheIdentity() {
        let image = TestSupport.noisy(width: 33, height: 21, seed: 1)
        #expect(image.resized(width: 33, height: 21) == image)
    }

    @Test func centerCropRoundsHalvesToEvenLikeTorchvision() {
        // 341 - 224 = 117 columns to drop: Python's round(58.5) is 58, so the crop starts at 58.
        let wide = Self.columnIndexImage(width: 341, height: 256)
        let crop = wide.centerCropped(width: 224, height: 224)
        #expect(crop.width == 224 && crop.height == 224)
        #expect(crop.pixel(x: 0, y: 0).red == 58)
        #expect(crop.pixel(x: 0, y: 0).green == UInt8((256 - 224) / 2))
        // 5 - 2 = 3: round(1.5) is 2.
        #expect(Self.columnIndexImage(width: 5, height: 5).centerCropped(width: 2, height: 2).pixel(x: 0, y: 0).red == 2)
    }

    @Test func centerCropLargerThanTheImagePadsWithBlack() {
        let image = RGBImage(width: 3, height: 2, red: 9, green: 9, blue: 9)
        let crop = image.centerCropped(width: 6, height: 5)
        // Padding before is (6 - 3) / 2 = 1 column and (5 - 2) / 2 = 1 row.
        #expect(crop.pixel(x: 0, y: 0) == (0, 0, 0))
        #expect(crop.pixel(x: 1, y: 1) == (9, 9, 9))
        #expect(crop.pixel(x: 3, y: 2) == (9, 9, 9))
        #expect(crop.pixel(x: 4, y: 1) == (0, 0, 0))
        #expect(crop.pixel(x: 1, y: 3) == (0, 0, 0))
    }

    @Test func quarterTurnsAndFlipsComposeAsExpected() {
        let image = TestSupport.noisy(width: 5, height: 3, seed: 11)
        #expect(image.rotated(quarterTurnsClockwise: 4) == image)
        #expect(image.rotated(quarterTurnsClockwise: 1).rotated(quarterTurnsClockwise: -1) == image)
        #expect(image.rotated(quarterTurnsClockwise: 2) == image.flippedHorizontally().flippedVertically())
        #expect(image.transposed().transposed() == image)
        #expect(image.transposed() == image.rotated(quarterTurnsClockwise: 1).flippedHorizontally())
        let turned = image.rotated(quarterTurnsClockwise: 1)
        #expect(turned.width == 3 && turned.height == 5)
        // Clockwise: the stored bottom-left pixel becomes the top-left one.
        #expect(turned.pixel(x: 0, y: 0) == image.pixel(x: 0, y: 2))
        #expect(image.oriented(exif: 7) == image.rotated(quarterTurnsClockwise: 2).transposed())
        #expect(image.oriented(exif: 0) == image && image.oriented(exif: 9) == image)
    }

    /// An image whose red byte is the column index and green the row index (mod 256).
    static func columnIndexImage(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8]()
        for y in 0..<height {
            for x in 0..<width { pixels += [UInt8(x & 0xFF), UInt8(y & 0xFF), 0] }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
