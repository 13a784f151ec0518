import Foundation

/// The bearer token that unlocks the dashboard's command endpoints.
///
/// The token is never logged (`description` redacts it) and is compared in constant time:
/// the comparison always walks the whole expected token, whatever the presented one is.
public struct AdminToken: Sendable, CustomStringConvertible {
    private let secret: [UInt8]

    /// - Throws: `DashboardError` `.configuration` for an empty or whitespace-only token, or
    ///   one shorter than 16 characters.
    public init(_ token: String) throws {
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count >= 16 else {
            throw DashboardError(.configuration, "the admin token must be at least 16 characters")
        }
        secret = Array(trimmed.utf8)
    }

    /// Reads the token from `path` (surrounding whitespace and the trailing newline dropped).
    /// - Throws: `DashboardError` `.configuration` naming the file when it cannot be read or
    ///   holds no usable token.
    public static func load(file path: String) throws -> AdminToken {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw DashboardError(.configuration, "\(path): cannot read the admin token file: \(error.localizedDescription)")
        }
        do {
            return try AdminToken(text)
        } catch let error as DashboardError {
            throw DashboardError(.configuration, "\(path): \(error.message)")
        }
    }

    /// True when `header` is `Bearer <token>` with this token (scheme case-insensitive).
    public func authorizes(authorizationHeader header: String?) -> Bool {
        guard let header else { return false }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        return Self.constantTimeEqual(Array(parts[1].trimmingCharacters(in: .whitespaces).utf8), secret)
    }

    /// Compares in time that depends only on `expected`'s length.
    static func constantTimeEqual(_ presented: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = presented.count ^ expected.count
        for index in 0..<expected.count {
            let byte = index < presented.count ? presented[index] : 0
            difference |= Int(byte ^ expected[index])
        }
        return difference == 0
    }

    public var description: String { "AdminToken(<redacted>)" }
}
