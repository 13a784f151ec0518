import BinCore
import Synchronization
import Testing
@testable import Hardware

/// A plain BT.601 limited-range YUYV → RGB converter, standing in for Imaging's.
func testYUYVToRGB(_ bytes: [UInt8], _ width: Int, _ height: Int) throws -> Frame {
    var rgb = [UInt8](repeating: 0, count: width * height * 3)
    func clamp(_ v: Double) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }
    for pair in 0..<(width * height / 2) {
        let y0 = Double(bytes[pair * 4]) - 16, u = Double(bytes[pair * 4 + 1]) - 128
        let y1 = Double(bytes[pair * 4 + 2]) - 16, v = Double(bytes[pair * 4 + 3]) - 128
        for (k, y) in [y0, y1].enumerated() {
            let o = (pair * 2 + k) * 3
            rgb[o] = clamp(1.164 * y + 1.596 * v)
            rgb[o + 1] = clamp(1.164 * y - 0.392 * u - 0.813 * v)
            rgb[o + 2] = clamp(1.164 * y + 2.017 * u)
        }
    }
    return Frame(width: width, height: height, rgb: rgb, origin: "test")
}

@Suite struct FrameAssemblerTests {
    static let noJPEG: FrameAssembler.Decoder = { _, _, _ in throw HardwareError(.badData, "unexpected MJPEG") }

    func pixel(_ frame: Frame, _ x: Int, _ y: Int) -> [Int] {
        let o = (y * frame.width + x) * 3
        return frame.rgb[o..<(o + 3)].map(Int.init)
    }

    func expectBars(_ frame: Frame) {
        let bars = [[255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]
        for (index, bar) in bars.enumerated() {
            for (got, want) in zip(pixel(frame, index * 4 + 1, 5), bar) { #expect(abs(got - want) <= 3) }
        }
    }

    @Test func recordedYUYVBufferBecomesColourBars() throws {
        let assembler = FrameAssembler(format: V4L2Format(fourcc: V4L2PixelFormat.yuyv.fourcc, width: 16, height: 8, bytesPerLine: 32),
                                       device: "/dev/video9", decodeMJPEG: Self.noJPEG, convertYUYV: testYUYVToRGB)
        let frame = try assembler.assemble(try Fixtures.data("bars_16x8.yuyv"))
        #expect(frame.width == 16 && frame.height == 8 && frame.origin == "/dev/video9")
        expectBars(frame)
    }

    @Test func paddedRowsAreStrippedBeforeConversion() throws {
        let seen = Mutex<[UInt8]>([])
        let assembler = FrameAssembler(
            format: V4L2Format(fourcc: V4L2PixelFormat.yuyv.fourcc, width: 16, height: 8, bytesPerLine: 40),
            device: "/dev/video9", decodeMJPEG: Self.noJPEG,
            convertYUYV: { bytes, w, h in seen.withLock { $0 = bytes }; return try testYUYVToRGB(bytes, w, h) })
        let frame = try assembler.assemble(try Fixtures.data("bars_16x8_stride40.yuyv"))
        #expect(try seen.withLock { $0 } == Fixtures.data("bars_16x8.yuyv"))
        expectBars(frame)
    }

    @Test func truncatedYUYVNamesDeviceAndSizes() throws {
        let assembler = FrameAssembler(format: V4L2Format(V4L2PixelFormat.yuyv, width: 16, height: 8),
                                       device: "/dev/video9", decodeMJPEG: Self.noJPEG, convertYUYV: testYUYVToRGB)
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
                                       decodeMJPEG: { _, _, _ in throw Broken() }, convertYUYV: testYUYVToRGB)
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
