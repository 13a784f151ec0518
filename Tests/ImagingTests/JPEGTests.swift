import Foundation
import Imaging
import Testing

@Suite struct JPEGTests {
    // MARK: Round trips and colour spaces

    @Test func encodedImageDecodesToTheSameSizeWithHighPSNR() throws {
        let image = TestSupport.gradient(width: 97, height: 61)  // odd sizes: partial MCUs
        for quality in [75, 90, 100] {
            let bytes = try JPEG.encode(image, quality: quality)
            let decoded = try JPEG.decode(bytes, source: "round trip q\(quality)")
            #expect(decoded.width == image.width && decoded.height == image.height)
            let psnr = TestSupport.psnr(decoded.pixels, image.pixels)
            #expect(psnr > (quality >= 90 ? 38 : 33), "q\(quality): PSNR \(psnr) dB")
        }
    }

    @Test func grayscaleJPEGDecodesToEqualRGBChannels() throws {
        let levels: [UInt8] = [0, 37, 128, 200, 255]
        let (width, height) = (16 * levels.count, 16)
        var samples = [UInt8]()
        for _ in 0..<height {
            for x in 0..<width { samples.append(levels[x / 16]) }
        }
        let bytes = try JPEG.encode(samples: samples, width: width, height: height, layout: .grayscale, quality: 95)
        let image = try JPEG.decode(bytes, source: "gray")
        #expect(image.width == width && image.height == height)
        for (patch, level) in levels.enumerated() {
            let (r, g, b) = image.pixel(x: patch * 16 + 8, y: 8)
            #expect(r == g && g == b, "gray must be replicated, got \(r) \(g) \(b)")
            #expect(abs(Int(r) - Int(level)) <= 2, "patch \(patch): \(r) vs \(level)")
        }
    }

    @Test func adobeCMYKJPEGDecodesToTheExpectedColours() throws {
        // Ink amounts (255 = full ink); the file stores them inverted, as Photoshop does.
        let inks: [(c: Int, m: Int, y: Int, k: Int)] = [
            (0, 0, 0, 0), (0, 255, 255, 0), (255, 0, 255, 0), (255, 255, 0, 0),
            (0, 0, 0, 255), (0, 0, 0, 128), (64, 128, 192, 32),
        ]
        let (width, height) = (16 * inks.count, 16)
        var samples = [UInt8]()
        for _ in 0..<height {
            for x in 0..<width {
                let ink = inks[x / 16]
                samples += [ink.c, ink.m, ink.y, ink.k].map { UInt8(255 - $0) }
            }
        }
        let bytes = try JPEG.encode(samples: samples, width: width, height: height, layout: .adobeCMYK, quality: 95)
        let image = try JPEG.decode(bytes, source: "cmyk")
        for (patch, ink) in inks.enumerated() {
            // Naive CMYK -> RGB: each primary is what the two inks let through.
            func through(_ a: Int) -> Double { Double(255 - a) * Double(255 - ink.k) / 255 }
            let expected = [through(ink.c), through(ink.m), through(ink.y)]
            let (r, g, b) = image.pixel(x: patch * 16 + 8, y: 8)
            for (got, want) in zip([r, g, b], expected) {
                #expect(abs(Double(got) - want) <= 3, "patch \(patch) \(ink): got \(r) \(g) \(b), want \(expected)")
            }
        }
    }

    @Test func encodeRejectsBadQualityAndMismatchedSamples() {
        let image = RGBImage(width: 8, height: 8, red: 1, green: 2, blue: 3)
        #expect(throws: ImagingError.self) { try JPEG.encode(image, quality: 0) }
        #expect(throws: ImagingError.self) { try JPEG.encode(image, quality: 101) }
        #expect(throws: ImagingError.self) {
            try JPEG.encode(samples: [1, 2, 3], width: 2, height: 2, layout: .rgb)
        }
    }

    // MARK: EXIF orientation

    /// Where the stored image's top-left, top-right and bottom-left corners appear when
    /// displayed, from the EXIF 2.3 table ("0th row is the visual ..., 0th column is the ...").
    enum Corner { case topLeft, topRight, bottomLeft, bottomRight }
    static let displayedCorners: [Int: (topLeft: Corner, topRight: Corner, bottomLeft: Corner)] = [
        1: (.topLeft, .topRight, .bottomLeft),     // row 0 top, column 0 left
        2: (.topRight, .topLeft, .bottomRight),    // row 0 top, column 0 right
        3: (.bottomRight, .bottomLeft, .topRight), // row 0 bottom, column 0 right
        4: (.bottomLeft, .bottomRight, .topLeft),  // row 0 bottom, column 0 left
        5: (.topLeft, .bottomLeft, .topRight),     // row 0 left, column 0 top
        6: (.topRight, .bottomRight, .topLeft),    // row 0 right, column 0 top
        7: (.bottomRight, .topRight, .bottomLeft), // row 0 right, column 0 bottom
        8: (.bottomLeft, .topLeft, .bottomRight),  // row 0 left, column 0 bottom
    ]

    /// A 48x32 image whose quadrants are red, green, blue and white (TL, TR, BL, BR).
    static func quadrants() -> RGBImage {
        let (width, height) = (48, 32)
        var pixels = [UInt8]()
        for y in 0..<height {
            for x in 0..<width {
                switch (x < width / 2, y < height / 2) {
                case (true, true): pixels += [255, 0, 0]
                case (false, true): pixels += [0, 255, 0]
                case (true, false): pixels += [0, 0, 255]
                case (false, false): pixels += [255, 255, 255]
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func colour(at corner: Corner, of image: RGBImage) -> (UInt8, UInt8, UInt8) {
        let (x, y): (Int, Int)
        switch corner {
        case .topLeft: (x, y) = (2, 2)
        case .topRight: (x, y) = (image.width - 3, 2)
        case .bottomLeft: (x, y) = (2, image.height - 3)
        case .bottomRight: (x, y) = (image.width - 3, image.height - 3)
        }
        return image.pixel(x: x, y: y)
    }

    static func near(_ a: (UInt8, UInt8, UInt8), _ b: (UInt8, UInt8, UInt8)) -> Bool {
        abs(Int(a.0) - Int(b.0)) <= 24 && abs(Int(a.1) - Int(b.1)) <= 24 && abs(Int(a.2) - Int(b.2)) <= 24
    }

    @Test(arguments: 1...8)
    func decodeTurnsTheImageUprightForEachEXIFOrientation(orientation: Int) throws {
        let stored = Self.quadrants()
        let plain = try JPEG.encode(stored, quality: 95)
        let storedCorners: [(Corner, (UInt8, UInt8, UInt8))] = [
            (.topLeft, (255, 0, 0)), (.topRight, (0, 255, 0)), (.bottomLeft, (0, 0, 255)),
        ]
        let table = try #require(Self.displayedCorners[orientation])
        let destinations = [table.topLeft, table.topRight, table.bottomLeft]
        for bigEndian in [false, true] {
            let bytes = TestSupport.inserting(TestSupport.exifSegment(orientation: orientation, bigEndian: bigEndian), into: plain)
            #expect(JPEG.orientation(of: bytes) == orientation)
            let image = try JPEG.decode(bytes, source: "orientation \(orientation)")
            let swapped = orientation >= 5
            #expect(image.width == (swapped ? stored.height : stored.width))
            #expect(image.height == (swapped ? stored.width : stored.height))
            for ((_, colour), destination) in zip(storedCorners, destinations) {
                let got = Self.colour(at: destination, of: image)
                #expect(Self.near(got, colour), "orientation \(orientation) \(bigEndian ? "MM" : "II"): \(destination) is \(got), want \(colour)")
            }
        }
    }

    @Test func malformedEXIFIsIgnored() throws {
        let plain = try JPEG.encode(Self.quadrants(), quality: 90)
        let good = TestSupport.exifSegment(orientation: 6, bigEndian: false)
        var variants: [(String, [UInt8])] = []
        var badValue = TestSupport.exifSegment(orientation: 9, bigEndian: false)
        variants.append(("value 9", badValue))
        badValue = TestSupport.exifSegment(orientation: 0, bigEndian: true)
        variants.append(("value 0", badValue))
        var ifdOutOfRange = good
        ifdOutOfRange[4 + 6 + 4] = 0xF0  // IFD0 offset low byte -> far past the payload
        variants.append(("IFD offset out of range", ifdOutOfRange))
        var hugeCount = good
        hugeCount[4 + 6 + 8] = 0xFF  // entry count 0x00FF: entries run off the end
        hugeCount[4 + 6 + 10 + 12] = 0x00  // and the orientation entry is no longer where it was
        variants.append(("entry count too large", hugeCount))
        var badMagic = good
        badMagic[4 + 6 + 2] = 0x2B
        variants.append(("TIFF magic 43", badMagic))
        var badOrder = good
        badOrder[4 + 6] = 0x58
        variants.append(("byte order XI", badOrder))
        let shortPayload: [UInt8] = [0xFF, 0xE1, 0x00, 0x08] + Array("Exif".utf8) + [0, 0]
        variants.append(("payload shorter than a TIFF header", shortPayload))
        for (name, segment) in variants {
            let bytes = TestSupport.inserting(segment, into: plain)
            #expect(JPEG.orientation(of: bytes) == 1, "\(name)")
            let image = try JPEG.decode(bytes, source: name)
            #expect(image.width == 48 && image.height == 32, "\(name)")
        }
        // An APP1 whose length runs past the end of the data.
        let cut = Array(TestSupport.inserting(good, into: plain).prefix(20))
        #expect(JPEG.orientation(of: cut) == 1)
    }

    @Test func orientationOfRandomBytesIsOneAndNeverTraps() {
        var random = SplitMix64(seed: 7)
        for length in [0, 1, 2, 3, 4, 5, 16, 64, 600] {
            for _ in 0..<50 {
                var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if length >= 2 { bytes[0] = 0xFF; bytes[1] = 0xD8 }
                let value = JPEG.orientation(of: bytes)
                #expect((1...8).contains(value))
            }
        }
    }

    // MARK: Bad input

    @Test func truncatedJPEGIsAnErrorAtEveryOffset() throws {
        let bytes = try JPEG.encode(TestSupport.noisy(width: 64, height: 48, seed: 3), quality: 90)
        let scanStart = try #require(Self.offsetAfterSOS(bytes))
        var offsets = [2, 3, 4, 11, 20, scanStart - 1, scanStart + 1]
        offsets += [0.25, 0.5, 0.75, 0.95].map { Int(Double(bytes.count) * $0) }
        offsets.append(bytes.count - 3)
        for offset in offsets {
            let prefix = Array(bytes.prefix(offset))
            do {
                _ = try JPEG.decode(prefix, source: "cut at \(offset)")
                Issue.record("decoding \(offset) of \(bytes.count) bytes succeeded")
            } catch {
                #expect(error.code == .truncated || error.code == .corruptData, "\(error)")
                #expect(error.description.hasPrefix("cut at \(offset): "))
                if offset > scanStart {
                    #expect(error.code == .truncated, "a cut inside the scan is a truncation: \(error)")
                    #expect(error.message.contains("premature end of JPEG data"))
                }
            }
        }
    }

    @Test func missingEOIAfterACompleteScanIsTolerated() throws {
        let image = TestSupport.noisy(width: 64, height: 48, seed: 4)
        let bytes = try JPEG.encode(image, quality: 90)
        #expect(Array(bytes.suffix(2)) == [0xFF, 0xD9])
        let decoded = try JPEG.decode(Array(bytes.dropLast(2)), source: "no EOI")
        #expect(decoded == (try JPEG.decode(bytes, source: "whole")))
    }

    @Test func headerClaimingAHugeImageIsRejectedBeforeDecoding() throws {
        var bytes = try JPEG.encode(RGBImage(width: 16, height: 16, red: 1, green: 2, blue: 3))
        let sof = try #require((2..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes[sof + 5] = 0x4E; bytes[sof + 6] = 0x20  // height 20000
        bytes[sof + 7] = 0x4E; bytes[sof + 8] = 0x20  // width 20000
        do {
            _ = try JPEG.decode(bytes, source: "huge.jpg")
            Issue.record("decoded a 20000x20000 header")
        } catch {
            #expect(error.code == .tooLarge)
            #expect(error.description.hasPrefix("huge.jpg: image is 20000x20000"))
        }
    }

    @Test func randomGarbageIsAnErrorNotACrash() {
        var random = SplitMix64(seed: 42)
        for trial in 0..<200 {
            let length = Int(random.next() % 4096)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if trial % 2 == 0, length >= 3 { bytes[0] = 0xFF; bytes[1] = 0xD8; bytes[2] = 0xFF }
            #expect(throws: ImagingError.self, "trial \(trial), \(length) bytes") {
                try JPEG.decode(bytes, source: "garbage \(trial)")
            }
        }
    }

    @Test func corruptedScanDataNeverCrashes() throws {
        let bytes = try JPEG.encode(TestSupport.noisy(width: 96, height: 64, seed: 5), quality: 85)
        let scanStart = try #require(Self.offsetAfterSOS(bytes))
        var random = SplitMix64(seed: 9)
        for _ in 0..<100 {
            var damaged = bytes
            for _ in 0..<8 {
                let at = scanStart + Int(random.next() % UInt64(bytes.count - 2 - scanStart))
                damaged[at] = UInt8(truncatingIfNeeded: random.next())
            }
            do {
                let image = try JPEG.decode(damaged, source: "damaged")
                #expect(image.width == 96 && image.height == 64)
            } catch {
                // Damage either decodes to a (wrong) picture or is reported; both are fine.
                #expect(error.code == .corruptData || error.code == .truncated, "\(error)")
            }
        }
    }

    @Test func pngTextAndEmptyFilesAreNotJPEG() throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        let cases: [([UInt8], String)] = [
            (png, "not a JPEG (starts with 89 50 4E 47)"),
            (Array("hello world".utf8), "not a JPEG (starts with 68 65 6C 6C)"),
            ([], "not a JPEG (file is empty)"),
            ([0xFF], "not a JPEG (starts with FF)"),
        ]
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (index, (bytes, message)) in cases.enumerated() {
            let path = directory.appendingPathComponent("sample\(index).jpg").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try JPEG.decode(contentsOf: path)
                Issue.record("\(message) decoded")
            } catch {
                #expect(error.code == .notJPEG)
                #expect(error.description == "\(path): \(message)")
            }
        }
    }

    @Test func missingFileIsAnIOErrorNamingThePath() {
        let path = "/nonexistent-smartbin/photo.jpg"
        do {
            _ = try JPEG.decode(contentsOf: path)
            Issue.record("decoded a missing file")
        } catch {
            #expect(error.code == .io)
            #expect(error.description.hasPrefix(path + ": open failed"))
        }
    }

    // MARK: Shared sample photos

    @Test(.enabled(if: TestSupport.hasTrashNet,
                   "shared data not found (set SMARTBIN_SHARED_DATA or place it at ../shared/data)"))
    func everyTrashNetPhotoDecodesAtItsHeaderSize() throws {
        var photos = TestSupport.trashNetPhotos()
        #expect(photos.count >= 60, "expected the 60 TrashNet photos, found \(photos.count)")
        let elephant = TestSupport.sharedData.appendingPathComponent("imagenet_sample/elephant.jpg")
        if FileManager.default.fileExists(atPath: elephant.path) {
            photos.append(elephant)
        }
        for photo in photos {
            let bytes = [UInt8](try Data(contentsOf: photo))
            let header = try #require(TestSupport.headerSize(ofJPEG: bytes), "\(photo.lastPathComponent): no SOF")
            let image = try JPEG.decode(bytes, source: photo.path)
            let swapped = JPEG.orientation(of: bytes) >= 5
            #expect(image.width == (swapped ? header.height : header.width), "\(photo.lastPathComponent)")
            #expect(image.height == (swapped ? header.width : header.height), "\(photo.lastPathComponent)")
            #expect(image.pixels.count == image.width * image.height * 3)
        }
    }

    /// Offset of the first byte after the SOS segment (where entropy-coded data begins).
    static func offsetAfterSOS(_ bytes: [UInt8]) -> Int? {
        var i = 2
        while i + 3 < bytes.count {
            guard bytes[i] == 0xFF else { return nil }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            if bytes[i + 1] == 0xDA { return i + 2 + length }
            i += 2 + length
        }
        return nil
    }
}
