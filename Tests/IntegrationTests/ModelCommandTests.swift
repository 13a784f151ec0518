import Foundation
import SmartBinApp
import Testing

/// The schema and bounds of `update_model` / `rollback_model` payloads.
@Suite struct ModelCommandTests {
    static let sha = String(repeating: "ab", count: 32)

    func parse(_ json: String, _ name: String = "update_model", limits: ModelCommand.Limits = .init()) throws -> ModelCommand {
        try ModelCommand.parse(name: name, payload: Array(json.utf8), limits: limits)
    }

    func reason(_ json: String, _ name: String = "update_model", limits: ModelCommand.Limits = .init()) -> String {
        do { _ = try parse(json, name, limits: limits); return "accepted" } catch { return "\(error)" }
    }

    @Test func acceptsThePathAndChunkForms() throws {
        #expect(try parse(#"{"sha256":"\#(Self.sha.uppercased())","path":"/var/lib/smartbin/models/x.onnx"}"#)
                == .install(path: "/var/lib/smartbin/models/x.onnx", sha256: Self.sha))
        #expect(try parse(#"{"transfer":"t-1","chunk":1,"of":2,"data":"AAEC","sha256":"\#(Self.sha)"}"#)
                == .chunk(transfer: "t-1", index: 1, count: 2, data: [0, 1, 2], sha256: Self.sha))
        #expect(try parse("", "rollback_model") == .rollback)
        #expect(try parse("{}", "rollback_model") == .rollback)
    }

    @Test func refusesBadPayloadsWithAReason() {
        #expect(reason("not json").contains("not JSON"))
        #expect(reason("[1]").contains("JSON object"))
        #expect(reason(#"{"sha256":"abc","path":"/x.onnx"}"#).contains("64 hexadecimal"))
        #expect(reason(#"{"sha256":"\#(Self.sha)"}"#).contains("missing key 'path'"))
        #expect(reason(#"{"sha256":"\#(Self.sha)","path":"x.onnx"}"#).contains("absolute"))
        #expect(reason(#"{"sha256":"\#(Self.sha)","path":"/x.onnx","url":"http://h/x"}"#).contains("unknown key 'url'"))
        #expect(reason(#"{"transfer":"a/b","chunk":0,"of":1,"data":"","sha256":"\#(Self.sha)"}"#).contains("transfer must be"))
        #expect(reason(#"{"transfer":"a","chunk":2,"of":2,"data":"","sha256":"\#(Self.sha)"}"#).contains("chunk must be"))
        #expect(reason(#"{"transfer":"a","chunk":true,"of":2,"data":"","sha256":"\#(Self.sha)"}"#).contains("chunk must be"))
        #expect(reason(#"{"transfer":"a","chunk":0,"of":99999,"data":"","sha256":"\#(Self.sha)"}"#).contains("of must be"))
        #expect(reason(#"{"transfer":"a","chunk":0,"of":1,"data":"%%%","sha256":"\#(Self.sha)"}"#).contains("base64"))
        #expect(reason(#"{"x":1}"#, "rollback_model").contains("takes no keys"))
        var small = ModelCommand.Limits()
        small.payloadBytes = 16
        #expect(reason(#"{"sha256":"\#(Self.sha)","path":"/x.onnx"}"#, limits: small).contains("limit is 16"))
    }
}
