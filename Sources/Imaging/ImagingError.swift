/// The one error type of the Imaging module: what went wrong, with which file or source, and
/// where in it when that is known.
///
/// `description` reads like `"glass3.jpg: not a JPEG (starts with 89 50 4E 47)"` or
/// `"frame 12: truncated: premature end of JPEG data (at byte 20480)"`.
public struct ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, for callers that branch on it.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The bytes are not a JPEG at all (wrong signature, empty).
        case notJPEG
        /// libjpeg rejected the data as damaged.
        case corruptData
        /// The data ends before the image does.
        case truncated
        /// The image exceeds the size limits.
        case tooLarge
        /// The image's colour space cannot be turned into RGB.
        case unsupportedColorSpace
        /// A size, stride or parameter does not fit the data (e.g. a YUYV buffer of the wrong length).
        case invalidArgument
        /// A file could not be opened, read or written.
        case io
        /// A `.npy` file is malformed or uses a layout we do not support.
        case badNPY
        /// An allocation failed.
        case outOfMemory
    }

    /// The kind of failure.
    public let code: Code
    /// The file path or a label for in-memory data (e.g. `"camera frame 12"`).
    public let source: String
    /// What went wrong, without the source.
    public let message: String
    /// Byte offset into the source where the problem was found, when known.
    public let offset: Int?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - source: the file path or a label for in-memory data.
    ///   - message: what went wrong, without the source.
    ///   - offset: byte offset into the source, when known.
    public init(_ code: Code, source: String, message: String, offset: Int? = nil) {
        self.code = code
        self.source = source
        self.message = message
        self.offset = offset
    }

    public var description: String {
        if let offset {
            return "\(source): \(message) (at byte \(offset))"
        }
        return "\(source): \(message)"
    }
}
