/// EXIF orientation, parsed from the JPEG bytes without libjpeg.
extension JPEG {
    /// The EXIF orientation (tag 0x0112 in IFD0 of an `Exif` APP1 segment), 1...8, or 1 when
    /// there is none.
    ///
    /// Walks the marker segments up to the start of scan, so it costs a few hundred bytes of
    /// reading. Both TIFF byte orders (`II`, `MM`) are handled. Anything malformed — a segment
    /// running past the end, an IFD offset out of range, a value outside 1...8 — is ignored
    /// and reads as 1 rather than failing, because a bad tag must not lose the frame.
    /// - Parameter bytes: the whole JPEG file.
    public static func orientation(of bytes: [UInt8]) -> Int {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return 1 }
        var i = 2
        while i + 1 < bytes.count {
            guard bytes[i] == 0xFF else { return 1 }
            let marker = bytes[i + 1]
            switch marker {
            case 0xFF:
                i += 1  // fill byte before a marker
                continue
            case 0x01, 0xD0...0xD8:
                i += 2  // markers without a length
                continue
            case 0xDA, 0xD9:
                return 1  // start of scan or end of image: no EXIF came first
            default:
                break
            }
            guard i + 3 < bytes.count else { return 1 }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            let end = i + 2 + length
            guard length >= 2, end <= bytes.count else { return 1 }
            if marker == 0xE1, let value = exifOrientation(bytes[(i + 4)..<end]) {
                return value
            }
            i = end
        }
        return 1
    }

    /// The orientation in an APP1 payload, or nil when it is not EXIF, has no valid tag or is
    /// malformed.
    static func exifOrientation(_ payload: ArraySlice<UInt8>) -> Int? {
        let header: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]  // "Exif\0\0"
        guard payload.count >= header.count + 8, payload.prefix(header.count).elementsEqual(header) else {
            return nil
        }
        let tiff = Array(payload.dropFirst(header.count))
        let littleEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): littleEndian = true  // "II"
        case (0x4D, 0x4D): littleEndian = false  // "MM"
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            let a = Int(tiff[at]), b = Int(tiff[at + 1])
            return littleEndian ? a | b << 8 : a << 8 | b
        }
        func u32(_ at: Int) -> Int? {
            guard let first = u16(at), let second = u16(at + 2) else { return nil }
            return littleEndian ? first | second << 16 : first << 16 | second
        }
        guard u16(2) == 42, let ifd = u32(4), ifd >= 8, let entries = u16(ifd) else { return nil }
        for n in 0..<entries {
            let entry = ifd + 2 + 12 * n
            guard let tag = u16(entry), let type = u16(entry + 2), let count = u32(entry + 4) else { return nil }
            guard tag == 0x0112 else { continue }
            guard count >= 1 else { return nil }
            let value: Int?
            switch type {
            case 3: value = u16(entry + 8)  // SHORT, as the standard says
            case 4: value = u32(entry + 8)  // LONG, written by some tools
            default: value = nil
            }
            guard let value, (1...8).contains(value) else { return nil }
            return value
        }
        return nil
    }
}
