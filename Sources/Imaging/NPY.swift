/// Minimal reader and writer of NumPy `.npy` files, for exchanging tensors and images with
/// Python tools (`tools/preprocess_ref.py`, the CLI's `--input-npy`).
///
/// Supported: format versions 1.0, 2.0 and 3.0; C order only (`fortran_order: False`);
/// element types little-endian float32 (`'<f4'`) and bytes (`'|u1'`). Files are written as
/// version 1.0 (2.0 when the header would not fit), header padded to 64 bytes, as NumPy does.
public enum NPY {
    /// Element types this reader and writer handle.
    public enum DataType: String, Sendable, CaseIterable {
        /// Little-endian IEEE float32.
        case float32 = "<f4"
        /// Unsigned bytes.
        case uint8 = "|u1"

        /// Bytes per element.
        public var size: Int { self == .float32 ? 4 : 1 }
    }

    /// A decoded array: its shape, element type and values widened to `Float`.
    public struct Contents: Sendable, Equatable {
        /// Dimensions, outermost first; empty for a scalar.
        public var shape: [Int]
        /// The element type stored in the file.
        public var dataType: DataType
        /// `shape.reduce(1, *)` values in C order.
        public var values: [Float]
    }

    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    /// Reads a `.npy` file of float32 or uint8 elements.
    /// - Parameter path: the file; it names the source in errors.
    /// - Returns: the shape and the values, uint8 widened to `Float`.
    /// - Throws: `ImagingError` with code `.io` or `.badNPY` (naming the file and the problem).
    public static func read(_ path: String) throws(ImagingError) -> (shape: [Int], values: [Float]) {
        let array = try decode(FileIO.readAll(path), source: path)
        return (array.shape, array.values)
    }

    /// Writes float32 values as a `.npy` file.
    /// - Parameters:
    ///   - values: `shape.reduce(1, *)` values in C order.
    ///   - shape: dimensions, outermost first.
    ///   - path: the file to create or replace.
    /// - Throws: `ImagingError` with code `.invalidArgument` when the count does not match the
    ///   shape, `.io` when the file cannot be written.
    public static func write(_ values: [Float], shape: [Int], to path: String) throws(ImagingError) {
        try FileIO.write(encode(values, shape: shape, source: path), to: path)
    }

    /// Writes bytes as a `.npy` file of `'|u1'` (e.g. an image as `[height, width, 3]`).
    /// - Parameters:
    ///   - values: `shape.reduce(1, *)` bytes in C order.
    ///   - shape: dimensions, outermost first.
    ///   - path: the file to create or replace.
    /// - Throws: as `write(_:shape:to:)` for floats.
    public static func write(_ values: [UInt8], shape: [Int], to path: String) throws(ImagingError) {
        try FileIO.write(encode(values, shape: shape, source: path), to: path)
    }

    /// The `.npy` encoding of float32 values.
    public static func encode(_ values: [Float], shape: [Int], source: String = "NPY") throws(ImagingError) -> [UInt8] {
        var bytes = try header(dataType: .float32, shape: shape, count: values.count, source: source)
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for value in values {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// The `.npy` encoding of bytes.
    public static func encode(_ values: [UInt8], shape: [Int], source: String = "NPY") throws(ImagingError) -> [UInt8] {
        try header(dataType: .uint8, shape: shape, count: values.count, source: source) + values
    }

    /// Decodes `.npy` bytes.
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - source: a path or label used in errors.
    /// - Throws: `ImagingError` with code `.badNPY` naming the problem and its byte offset.
    public static func decode(_ bytes: [UInt8], source: String) throws(ImagingError) -> Contents {
        func bad(_ message: String, at offset: Int? = nil) -> ImagingError {
            ImagingError(.badNPY, source: source, message: message, offset: offset)
        }
        guard bytes.count >= 10, bytes.prefix(6).elementsEqual(magic) else {
            throw bad("not a .npy file (no \\x93NUMPY magic)", at: 0)
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("file ends inside the header length", at: 8) }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw bad("unsupported format version \(major).\(bytes[7]) (supported: 1.0, 2.0, 3.0)", at: 6)
        }
        let dataStart = headerStart + headerLength
        guard dataStart <= bytes.count else {
            throw bad("header of \(headerLength) bytes runs past the end of the file (\(bytes.count) bytes)", at: headerStart)
        }
        let text = String(decoding: bytes[headerStart..<dataStart], as: UTF8.self)
        let descr = try stringValue(of: "descr", in: text, fail: bad)
        guard let dataType = DataType(rawValue: descr == "<u1" || descr == "u1" ? "|u1" : descr) else {
            throw bad("unsupported dtype '\(descr)' (supported: '<f4', '|u1')", at: headerStart)
        }
        guard let fortran = rawValue(of: "fortran_order", in: text) else {
            throw bad("header has no 'fortran_order'", at: headerStart)
        }
        guard fortran.hasPrefix("False") else {
            throw bad("fortran_order \(fortran.prefix(5)) is not supported (C order only)", at: headerStart)
        }
        let shape = try shapeValue(in: text, fail: bad)
        let count = shape.reduce(1, *)
        let expected = count * dataType.size
        guard bytes.count - dataStart == expected else {
            throw bad("shape \(shape) of \(descr) needs \(expected) data bytes, file has \(bytes.count - dataStart)", at: dataStart)
        }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            switch dataType {
            case .uint8:
                for i in 0..<count { values[i] = Float(raw[dataStart + i]) }
            case .float32:
                for i in 0..<count {
                    let bits = raw.loadUnaligned(fromByteOffset: dataStart + 4 * i, as: UInt32.self)
                    values[i] = Float(bitPattern: UInt32(littleEndian: bits))
                }
            }
        }
        return Contents(shape: shape, dataType: dataType, values: values)
    }

    // MARK: - Header

    /// Magic, version, length and the padded dictionary for `shape` of `dataType`.
    private static func header(dataType: DataType, shape: [Int], count: Int,
                               source: String) throws(ImagingError) -> [UInt8] {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw ImagingError(.invalidArgument, source: source, message: "shape \(shape) does not hold \(count) values")
        }
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        let dictionary = "{'descr': '\(dataType.rawValue)', 'fortran_order': False, 'shape': \(dims), }"
        var version: UInt8 = 1
        var prefix = 10
        var total = (prefix + dictionary.utf8.count + 1 + 63) / 64 * 64
        if total - prefix > Int(UInt16.max) {
            version = 2
            prefix = 12
            total = (prefix + dictionary.utf8.count + 1 + 63) / 64 * 64
        }
        let length = total - prefix
        var bytes = magic + [version, 0]
        if version == 1 {
            bytes += [UInt8(length & 0xFF), UInt8(length >> 8)]
        } else {
            bytes += (0..<4).map { UInt8((length >> (8 * $0)) & 0xFF) }
        }
        bytes += Array(dictionary.utf8)
        bytes += [UInt8](repeating: 0x20, count: length - dictionary.utf8.count - 1) + [0x0A]
        return bytes
    }

    /// The text after `'key':` with leading spaces removed, or nil when the key is absent.
    private static func rawValue(of key: String, in text: String) -> Substring? {
        for quote in ["'", "\""] {
            let needle = Array((quote + key + quote).utf8)
            let haystack = Array(text.utf8)
            guard haystack.count >= needle.count else { continue }
            if let start = (0...(haystack.count - needle.count)).first(where: { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }) {
                let upper = text.utf8.index(text.utf8.startIndex, offsetBy: start + needle.count)
                var rest = text[upper...].drop { $0 == " " }
                guard rest.first == ":" else { return nil }
                rest = rest.dropFirst().drop { $0 == " " }
                return rest
            }
        }
        return nil
    }

    private static func stringValue(of key: String, in text: String,
                                    fail: (String, Int?) -> ImagingError) throws(ImagingError) -> String {
        guard let rest = rawValue(of: key, in: text), let quote = rest.first, quote == "'" || quote == "\"" else {
            throw fail("header has no string '\(key)'", nil)
        }
        let body = rest.dropFirst()
        guard let end = body.firstIndex(of: quote) else { throw fail("unterminated '\(key)' in header", nil) }
        return String(body[..<end])
    }

    private static func shapeValue(in text: String,
                                   fail: (String, Int?) -> ImagingError) throws(ImagingError) -> [Int] {
        guard let rest = rawValue(of: "shape", in: text), rest.first == "(", let close = rest.firstIndex(of: ")") else {
            throw fail("header has no 'shape' tuple", nil)
        }
        var shape: [Int] = []
        for part in rest[rest.index(after: rest.startIndex)..<close].split(separator: ",") {
            let trimmed = part.filter { $0 != " " }
            guard let dim = Int(trimmed), dim >= 0 else {
                throw fail("shape entry '\(trimmed)' is not a non-negative integer", nil)
            }
            shape.append(dim)
        }
        return shape
    }
}
