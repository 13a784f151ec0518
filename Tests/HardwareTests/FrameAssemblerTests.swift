import BinCore
import Synchronization
import Testing
@testable import Hardware

@Suite struct FrameAssemblerTests {
    static let noJPEG: FrameAssembler.Decoder = { _, _, _ in throw HardwareError(.badData, "unexpected MJPEG") }

    func pixel(_ frame: Frame, _ x: Int, _ y: Int) -> [Int] {
        let o = (y * frame.width + x) * 3
        return frame.rgb[o..<(o + 3)].map(Int.init)
    }

    /// `FrameAssembler` for `format` on `/dev/video9` with the firmware's own decoders.
    func productAssembler(_ format: V4L2Format) -> FrameAssembler {
        FrameAssembler(format: format, device: "/dev/video9", decodeMJPEG: FrameAssembler.libjpegMJPEG,
                       convertYUYV: FrameAssembler.imagingYUYV)
    }

    /// The bars of `bars_16x8.yuyv` (white, red, green, blue) as the real-valued BT.601
    /// limited-range conversion gives them for the fixture's samples, rounded (generate.py:
    /// (235,128,128) → 255,255,255; (81,90,240) → 254.4,0,0; (145,54,34) → 0.2,255,0.9;
    /// (41,240,110) → 0.4,0,255). The integer converter is documented to be within 1 of these.
    static let barRGB = [[255, 255, 255], [254, 0, 0], [0, 255, 1], [0, 0, 255]]

    func expectBars(_ frame: Frame) {
        for y in 0..<frame.height {
            for x in 0..<frame.width {
                let want = Self.barRGB[x / 4]
                for (got, wanted) in zip(pixel(frame, x, y), want) {
                    #expect(abs(got - wanted) <= 1, "pixel (\(x), \(y)): \(pixel(frame, x, y)), want \(want)")
                }
            }
        }
    }

    @Test func recordedYUYVBufferBecomesColourBars() throws {
        let frame = try productAssembler(V4L2Format(fourcc: V4L2PixelFormat.yuyv.fourcc, width: 16, height: 8, bytesPerLine: 32))
            .assemble(try Fixtures.data("bars_16x8.yuyv"))
        #expect(frame.width == 16 && frame.height == 8 && frame.origin == "/dev/video9")
        expectBars(frame)
    }

    @Test func recordedYUYVPatchesMatchTheRealValuedConversion() throws {
        // Samples away from the clamping limits, and the expected RGB computed by generate.py in
        // floating point from Kr = 0.299, Kb = 0.114 (not from the firmware's constants).
        let frame = try productAssembler(V4L2Format(V4L2PixelFormat.yuyv, width: 8, height: 4))
            .assemble(try Fixtures.data("patches_8x4.yuyv"))
        let expected = try Fixtures.data("patches_8x4.rgb")
        try #require(frame.rgb.count == expected.count)
        let worst = zip(frame.rgb, expected).map { abs(Int($0) - Int($1)) }.max() ?? 99
        #expect(worst <= 1, "max |Δ| = \(worst)\ngot  \(frame.rgb)\nwant \(expected)")
        // Spot checks against values worked out by hand: black (Y 16), grey Y 127 → 129.25, and a
        // skin tone Y 150 U 110 V 150 → (191.14, 145.20, 119.72).
        for (x, y, want) in [(0, 0, [0, 0, 0]), (7, 0, [129, 129, 129]), (0, 1, [191, 145, 120])] {
            #expect(zip(pixel(frame, x, y), want).allSatisfy { abs($0 - $1) <= 1 }, "(\(x), \(y)): \(pixel(frame, x, y)), want \(want)")
        }
    }

    @Test func paddedRowsAreStrippedBeforeConversion() throws {
        let seen = Mutex<[UInt8]>([])
        let assembler = FrameAssembler(
            format: V4L2Format(fourcc: V4L2PixelFormat.yuyv.fourcc, width: 16, height: 8, bytesPerLine: 40),
            device: "/dev/video9", decodeMJPEG: Self.noJPEG,
            convertYUYV: { bytes, w, h in seen.withLock { $0 = bytes }; return try FrameAssembler.imagingYUYV(bytes, w, h) })
        let frame = try assembler.assemble(try Fixtures.data("bars_16x8_stride40.yuyv"))
        #expect(try seen.withLock { $0 } == Fixtures.data("bars_16x8.yuyv"))
        expectBars(frame)
    }

    /// The colours of `blocks_64x64.mjpg`'s 4x3 flat 16x16 blocks (generate.py's BLOCKS).
    static let blocks: [[[Int]]] = [
        [[128, 128, 128], [200, 60, 40], [60, 160, 70], [50, 80, 190]],
        [[230, 200, 160], [150, 110, 60], [20, 20, 20], [240, 240, 240]],
        [[180, 40, 150], [40, 180, 180], [220, 220, 60], [100, 100, 140]],
    ]

    @Test func recordedMJPEGFrameDecodesThroughLibjpeg() throws {
        // A UVC-style frame: 4:2:2, AVI1 marker, no Huffman tables (libjpeg supplies the standard ones).
        let bytes = try Fixtures.data("blocks_64x64.mjpg")
        #expect(!bytes.indices.dropLast().contains { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC4 }, "the fixture must have no DHT segment")
        let frame = try productAssembler(V4L2Format(V4L2PixelFormat.mjpeg, width: 64, height: 64)).assemble(bytes)
        #expect(frame.width == 64 && frame.height == 64 && frame.origin == "/dev/video9")
        for (row, colours) in Self.blocks.enumerated() {
            for (column, colour) in colours.enumerated() {
                let got = pixel(frame, column * 16 + 8, row * 16 + 8)
                #expect(zip(got, colour).allSatisfy { abs($0 - $1) <= 3 }, "block (\(column), \(row)): \(got), want \(colour)")
            }
        }
        // The gradient band: red = 4x, green 128, blue = 252 - 4x, within the loss of quality 90.
        for x in [4, 20, 36, 52, 60] {
            let got = pixel(frame, x, 56)
            let want = [4 * x, 128, 252 - 4 * x]
            #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 8 }, "gradient x=\(x): \(got), want \(want)")
        }
    }

    @Test func truncatedMJPEGFrameIsBadDataNamingTheDevice() throws {
        // A frame cut short (USB packets lost): libjpeg would pad it with grey; we refuse it.
        let bytes = try Fixtures.data("blocks_64x64.mjpg")
        let cut = Array(bytes.prefix(bytes.count - 120))
        let error = #expect(throws: HardwareError.self) {
            try productAssembler(V4L2Format(V4L2PixelFormat.mjpeg, width: 64, height: 64)).assemble(cut)
        }
        #expect(error?.code == .badData)
        #expect(error?.message.hasPrefix("/dev/video9: MJPEG decode of a MJPG 64x64 buffer (\(cut.count) bytes) failed:") == true,
                "\(String(describing: error))")
    }

    @Test func truncatedYUYVNamesDeviceAndSizes() throws {
        let assembler = productAssembler(V4L2Format(V4L2PixelFormat.yuyv, width: 16, height: 8))
        let error = #expect(throws: HardwareError.self) { try assembler.assemble([UInt8](repeating: 0, count: 100)) }
        #expect(error?.code == .badData)
        #expect(error?.message == "/dev/video9: YUYV buffer truncated: 100 bytes, YUYV 16x8 needs 256")
    }

    @Test func mjpegGoesThroughTheInjectedDecoder() throws {
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0xFF, 0xD9]
        let assembler = FrameAssembler(
            format: V4L2Format(V4L2PixelFormat.mjpeg, width: 2, height: 1), device: "/dev/video9",
            decodeMJPEG: { bytes, w, h in
                #expect(bytes == jpeg)
                return Frame(width: w, height: h, rgb: [1, 2, 3, 4, 5, 6], origin: "decoder")
            },
            convertYUYV: { _, _, _ in throw HardwareError(.badData, "unexpected YUYV") })
        let frame = try assembler.assemble(jpeg)
        #expect(frame.rgb == [1, 2, 3, 4, 5, 6] && frame.origin == "/dev/video9")
        let notJPEG = #expect(throws: HardwareError.self) { try assembler.assemble([0, 1, 2, 3]) }
        #expect(notJPEG?.message.contains("no JPEG start marker") == true)
    }

    @Test func decoderFailureIsBadDataNamingTheDevice() {
        struct Broken: Error {}
        let assembler = FrameAssembler(format: V4L2Format(V4L2PixelFormat.mjpeg, width: 2, height: 2), device: "/dev/video3",
                                       decodeMJPEG: { _, _, _ in throw Broken() }, convertYUYV: FrameAssembler.imagingYUYV)
        let error = #expect(throws: HardwareError.self) { try assembler.assemble([0xFF, 0xD8, 0xFF, 0xD9]) }
        #expect(error?.code == .badData)
        #expect(error?.message.hasPrefix("/dev/video3: MJPEG decode") == true)
    }
}

@Suite struct V4L2FormatTests {
    @Test func driverSwitchingPixelFormatIsRefusedWithAFix() {
        let error = #expect(throws: HardwareError.self) {
            try V4L2Format.accept(requested: V4L2Format(.mjpeg, width: 640, height: 480),
                                  chosen: V4L2Format(.yuyv, width: 640, height: 480), device: "/dev/video0")
        }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("/dev/video0: VIDIOC_S_FMT asked for MJPG 640x480, driver chose YUYV 640x480") == true)
    }

    @Test func differentSizeIsAcceptedWithANote() throws {
        let note = try V4L2Format.accept(requested: V4L2Format(.mjpeg, width: 640, height: 480),
                                         chosen: V4L2Format(fourcc: V4L2PixelFormat.fourcc("JPEG"), width: 640, height: 360),
                                         device: "/dev/video0")
        #expect(note == "/dev/video0: asked for MJPG 640x480, driver chose JPEG 640x360")
        #expect(V4L2PixelFormat.mjpeg.fourcc == 0x4750_4A4D)
    }
}
