/// HTML helpers for the server-rendered pages.
enum HTML {
    /// Escapes `&`, `<`, `>`, `"` and `'` for text and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Escapes a path component for an `href` (letters, digits and `-._~` stay as they are).
    static func pathComponent(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// A whole page: the shared stylesheet, a header linking back to the fleet, `body`.
    static func page(title: String, body: String, script: String = "") -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>\(stylesheet)</style></head>
        <body><header><a href="/">SmartBin fleet</a><span id="conn" class="conn"></span></header>
        <main>\(body)</main>
        \(script.isEmpty ? "" : "<script>\(script)</script>")
        </body></html>
        """
    }

    static let stylesheet = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f5;color:#222}
        header{background:#24453a;color:#fff;padding:10px 18px;display:flex;justify-content:space-between}
        header a{color:#fff;text-decoration:none;font-weight:bold}
        main{padding:14px 18px;max-width:1200px;margin:auto}
        h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:18px 0 8px}
        table{border-collapse:collapse;width:100%;background:#fff}
        th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e3e3;vertical-align:top}
        th{background:#eef1ee;font-weight:600}
        .badge{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;color:#fff;background:#888}
        .online{background:#2e8b57}.offline{background:#b03a2e}.stopped{background:#777}
        .fault{background:#d35400}.maintenance{background:#2c6fbb}.unknown{background:#aaa}
        .counts span{display:inline-block;margin-right:8px;white-space:nowrap}
        .feed{list-style:none;padding:0;margin:0;background:#fff;max-height:420px;overflow:auto;border:1px solid #e3e3e3}
        .feed li{padding:4px 8px;border-bottom:1px solid #f0f0f0;font-family:ui-monospace,monospace;font-size:12px}
        .feed li.new{animation:flash 1.2s}
        @keyframes flash{from{background:#fff6c8}to{background:#fff}}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}
        .card{background:#fff;border:1px solid #e3e3e3;padding:8px}
        .chart{width:100%;height:auto}
        .kv span{margin-right:18px}
        .muted{color:#777}.conn{font-size:12px}
        .fillrow{display:flex;align-items:center;gap:6px;font-size:12px;white-space:nowrap}
        .fname{width:80px;overflow:hidden;text-overflow:ellipsis}.fpct{width:36px;text-align:right}
        .fbar{display:inline-block;width:110px;height:10px;background:#e6e8e6;border-radius:3px;overflow:hidden}
        .flevel{display:block;height:100%;background:#2e8b57}
        .flevel.nearly_full,.fillstatus.nearly_full{background:#d68910}.flevel.full,.fillstatus.full{background:#b03a2e}
        .fillstatus{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;color:#fff;background:#2e8b57}
        .needs{background:#fff;border:1px solid #e3e3e3;margin:0 0 14px;padding:6px 6px 6px 30px}
        .needs li{padding:3px 0}
        """
}
