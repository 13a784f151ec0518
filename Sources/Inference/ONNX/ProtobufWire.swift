/// Just enough of the protobuf wire format to find a message's fields without decoding it: the
/// ONNX loader uses it to take the initializers (nearly all of a model's bytes) out of the model
/// before swift-protobuf decodes the rest, which would otherwise copy every weight at once.
///
/// Bounds-checked throughout: a malformed or truncated message yields nil, never a read past
/// the buffer.
enum ProtobufWire {
    /// One field of a message, as byte ranges in the buffer that was scanned.
    struct Field {
        var number: Int
        /// 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
        var wireType: Int
        /// The whole field: tag, length and payload.
        var range: Range<Int>
        /// The payload of a length-delimited field (empty for the other wire types).
        var payload: Range<Int>
    }

    /// The fields of the message in `bytes[range]`, in order; nil when the bytes are not a
    /// well-formed message (bad varint, a length past the end, a group, field number 0).
    static func fields(of bytes: UnsafeRawBufferPointer, in range: Range<Int>) -> [Field]? {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return nil }
        var fields: [Field] = []
        var cursor = range.lowerBound
        while cursor < range.upperBound {
            let start = cursor
            guard let tag = varint(bytes, &cursor, end: range.upperBound), tag >> 3 > 0, tag >> 3 <= Int(Int32.max) else { return nil }
            let wireType = Int(tag & 7)
            var payload = cursor..<cursor
            switch wireType {
            case 0:
                guard varint(bytes, &cursor, end: range.upperBound) != nil else { return nil }
            case 1, 5:
                let width = wireType == 1 ? 8 : 4
                guard range.upperBound - cursor >= width else { return nil }
                cursor += width
            case 2:
                guard let length = varint(bytes, &cursor, end: range.upperBound), length <= UInt64(range.upperBound - cursor) else { return nil }
                payload = cursor..<cursor + Int(length)
                cursor = payload.upperBound
            default:
                return nil // groups (3, 4) are not used by ONNX; 6 and 7 do not exist
            }
            fields.append(Field(number: Int(tag >> 3), wireType: wireType, range: start..<cursor, payload: payload))
        }
        return fields
    }

    /// Appends the encoding of `value` as a varint.
    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// Appends a length-delimited field: tag, length, then `payload`'s pieces back to back.
    static func appendMessage(number: Int, pieces: [UnsafeRawBufferPointer], to bytes: inout [UInt8]) {
        appendVarint(UInt64(number) << 3 | 2, to: &bytes)
        appendVarint(UInt64(pieces.reduce(0) { $0 + $1.count }), to: &bytes)
        for piece in pieces { bytes.append(contentsOf: piece) }
    }

    private static func varint(_ bytes: UnsafeRawBufferPointer, _ cursor: inout Int, end: Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while cursor < end, shift < 64 {
            let byte = bytes[cursor]
            cursor += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }
}
