/// The fleet page (`/`): the compartments that need emptying, one row per bin (with a fill
/// bar per compartment) and a live feed of events.
///
/// The page carries the current bins and the newest events as JSON, renders them with a small
/// script and then follows `/api/stream` (server-sent events): new events are prepended to the
/// feed and update their bin's row (last event, items today, counts); availability and state
/// changes update the status badge and the fill bars; fill alerts (`bin_alert`) update the
/// "needs emptying" list, sorted as `NeedsEmptying.list` sorts. No reload, no external resources.
enum FleetPage {
    /// - Parameters:
    ///   - bins: the `/api/bins` array.
    ///   - recentEvents: stored payloads, newest first.
    static func render(bins: [BinSummary], recentEvents: [String]) -> String {
        var feed = JSONText()
        feed.beginArray()
        for payload in recentEvents { feed.raw(LiveFeed.Message.oneLine(payload)) }
        feed.endArray()
        // `</` cannot appear inside the script: JSONText escapes `<` in strings, and raw event
        // payloads only carry `<` inside strings, which we escape here too.
        let initial = "window.__BINS__=\(escapeScript(BinSummary.jsonArray(bins)));window.__FEED__=\(escapeScript(feed.text));"
        let body = """
            <h1>Fleet <span class="muted" id="summary"></span></h1>
            <h2>Needs emptying</h2>
            <ol class="needs" id="needs"></ol>
            <table id="bins"><thead><tr><th>Bin</th><th>Fleet</th><th>Status</th><th>Last event</th>
            <th>Items today</th><th>Per compartment</th><th>Fill</th></tr></thead><tbody></tbody></table>
            <h2>Live events</h2>
            <ul class="feed" id="feed"></ul>
            """
        return HTML.page(title: "SmartBin fleet", body: body, script: initial + script)
    }

    private static func escapeScript(_ json: String) -> String {
        json.replacingOccurrences(of: "<", with: "\\u003c")
    }

    static let script = #"""
        (function(){
        "use strict";
        var bins = {};
        (window.__BINS__||[]).forEach(function(b){ bins[b.bin_id] = b; });
        var tbody = document.querySelector("#bins tbody");
        var feed = document.getElementById("feed");
        var conn = document.getElementById("conn");
        var MAX_FEED = 200;
        function esc(s){ return String(s).replace(/[&<>"']/g, function(c){
          return {"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]; }); }
        function utcDay(iso){ return String(iso).slice(0,10); }
        function today(){ return new Date().toISOString().slice(0,10); }
        function status(b){
          if (!b.availability) return "unknown";
          var s = b.state && b.state.state;
          if (b.availability === "online" && (s === "fault" || s === "maintenance")) return s;
          return b.availability;
        }
        function rowHTML(b){
          var st = status(b);
          var reason = st === "fault" && b.state && b.state.fault_reason ? " <span class=\"muted\">" + esc(b.state.fault_reason) + "</span>" : "";
          var last = b.last_event ? esc(b.last_event.label) + " &rarr; " + esc(b.last_event.route) +
              " <span class=\"muted\">" + esc(String(b.last_event_ts).replace("T"," ").replace("Z"," UTC")) + "</span>" : "<span class=\"muted\">none</span>";
          var counts = Object.keys(b.counts||{}).sort().map(function(k){
            return "<span>" + esc(k) + ": <b>" + b.counts[k] + "</b></span>"; }).join("");
          return "<td><a href=\"/bins/" + encodeURIComponent(b.bin_id) + "\">" + esc(b.bin_id) + "</a></td>" +
            "<td>" + esc(b.fleet) + "</td>" +
            "<td><span class=\"badge " + esc(st) + "\">" + esc(st) + "</span>" + reason + "</td>" +
            "<td class=\"last\">" + last + "</td>" +
            "<td class=\"today\">" + (b.items_today||0) + "</td>" +
            "<td class=\"counts\">" + counts + "</td>" +
            "<td class=\"fill\">" + fillHTML(b) + "</td>";
        }
        function pct(x){ return Math.round((Number(x)||0)*100) + "%"; }
        function fillHTML(b){
          var f = b.fill || {};
          return Object.keys(f).sort().map(function(k){
            var c = f[k], st = c.status || "ok", w = Math.max(0, Math.min(100, Math.round((Number(c.level)||0)*100)));
            return "<div class=\"fillrow\" data-compartment=\"" + esc(k) + "\" data-status=\"" + esc(st) + "\" title=\"" +
              esc(k + ": " + pct(c.level) + " (" + st + "), " + c.items + (c.capacity != null ? "/" + c.capacity : "") + " items") + "\">" +
              "<span class=\"fname\">" + esc(k) + "</span><span class=\"fbar\"><span class=\"flevel " + esc(st) +
              "\" style=\"width:" + w + "%\"></span></span><span class=\"fpct\">" + pct(c.level) + "</span></div>";
          }).join("");
        }
        // The same order as NeedsEmptying.list: full first, then level (highest first), then
        // the oldest open alert, then bin and compartment.
        function needsList(){
          var out = [];
          Object.keys(bins).forEach(function(id){
            var b = bins[id], groups = {};
            (b.open_alerts||[]).forEach(function(a){ (groups[a.compartment] = groups[a.compartment] || []).push(a); });
            Object.keys(groups).forEach(function(k){
              var as = groups[k], cur = (b.fill||{})[k];
              var full = as.some(function(a){ return a.kind === "full"; }) || (cur && cur.status === "full");
              var level = cur ? Number(cur.level) : Math.max.apply(null, as.map(function(a){ return Number(a.level); }));
              var since = as.map(function(a){ return a.ts; }).sort()[0];
              out.push({bin_id:id, compartment:k, kind: full ? "full" : "nearly_full", level: level, since: since});
            });
          });
          out.sort(function(a, b){
            if ((a.kind === "full") !== (b.kind === "full")) return a.kind === "full" ? -1 : 1;
            if (a.level !== b.level) return b.level - a.level;
            if (a.since !== b.since) return Date.parse(a.since) - Date.parse(b.since);
            return a.bin_id < b.bin_id ? -1 : a.bin_id > b.bin_id ? 1 : (a.compartment < b.compartment ? -1 : a.compartment > b.compartment ? 1 : 0);
          });
          return out;
        }
        function renderNeeds(){
          var list = needsList(), ol = document.getElementById("needs");
          ol.innerHTML = list.length ? list.map(function(n){
            return "<li data-bin=\"" + esc(n.bin_id) + "\" data-compartment=\"" + esc(n.compartment) + "\">" +
              "<span class=\"fillstatus " + esc(n.kind) + "\">" + esc(n.kind.replace("_"," ")) + "</span> " +
              "<a href=\"/bins/" + encodeURIComponent(n.bin_id) + "\">" + esc(n.bin_id) + "</a> " + esc(n.compartment) +
              " <b>" + pct(n.level) + "</b> <span class=\"muted\">since " + esc(String(n.since).replace("T"," ").replace("Z"," UTC")) + "</span></li>";
          }).join("") : "<li class=\"muted\">nothing to empty</li>";
        }
        function renderRow(b){
          var tr = document.getElementById("bin-" + b.bin_id);
          if (!tr) {
            tr = document.createElement("tr");
            tr.id = "bin-" + b.bin_id;
            var ids = Object.keys(bins).sort();
            var next = ids[ids.indexOf(b.bin_id) + 1];
            var before = next ? document.getElementById("bin-" + next) : null;
            tbody.insertBefore(tr, before);
          }
          tr.innerHTML = rowHTML(b);
          tr.setAttribute("data-status", status(b));
        }
        function summary(){
          var ids = Object.keys(bins), online = ids.filter(function(id){ return status(bins[id]) === "online"; }).length;
          document.getElementById("summary").textContent = ids.length + " bins, " + online + " online";
        }
        function feedItem(e, fresh){
          var li = document.createElement("li");
          li.className = "event" + (fresh ? " new" : "");
          li.setAttribute("data-id", e.id);
          li.textContent = String(e.ts).replace("T"," ").replace("Z","") + "  " + e.bin_id + "  #" + e.seq + "  " +
            e.label + " (" + Math.round(e.confidence*100) + "%) → " + e.route + (e.fallback ? " [fallback]" : "") +
            "  " + (e.timing_ms ? Math.round(e.timing_ms.total) + " ms" : "");
          return li;
        }
        function bin(id, fleet){
          return bins[id] || (bins[id] = {bin_id:id, fleet:fleet, availability:null, state:null,
                               last_event:null, last_event_ts:null, items_today:0, counts:{}, events_total:0,
                               fill:{}, open_alerts:[]});
        }
        Object.keys(bins).sort().forEach(function(id){ renderRow(bins[id]); });
        (window.__FEED__||[]).forEach(function(e){ feed.appendChild(feedItem(e, false)); });
        summary();
        renderNeeds();

        if (!window.EventSource) { conn.textContent = "live updates unavailable"; return; }
        var source = new EventSource("/api/stream");
        source.onopen = function(){ conn.textContent = "live"; };
        source.onerror = function(){ conn.textContent = "reconnecting…"; };
        source.addEventListener("bin_event", function(m){
          var d = JSON.parse(m.data), e = d.event, b = bin(d.bin_id, d.fleet);
          if (!b.last_event_ts || e.ts >= b.last_event_ts) { b.last_event_ts = e.ts; b.last_event = {label:e.label, route:e.route}; }
          if (utcDay(e.ts) === today()) b.items_today = (b.items_today||0) + 1;
          b.counts[e.route] = (b.counts[e.route]||0) + 1;
          b.events_total = (b.events_total||0) + 1;
          renderRow(b);
          feed.insertBefore(feedItem(e, true), feed.firstChild);
          while (feed.childNodes.length > MAX_FEED) feed.removeChild(feed.lastChild);
          summary();
        });
        source.addEventListener("bin_change", function(m){
          var d = JSON.parse(m.data), b = bin(d.bin_id, d.fleet);
          if (d.kind === "availability") b.availability = d.value;
          else { b.state = d.value; b.fill = (d.value && d.value.fill) || {}; }
          renderRow(b);
          summary();
          renderNeeds();
        });
        source.addEventListener("bin_alert", function(m){
          var d = JSON.parse(m.data), a = d.alert, b = bin(d.bin_id, d.fleet);
          b.open_alerts = b.open_alerts || [];
          if (a.kind === "emptied") {
            var t = Date.parse(a.ts);
            b.open_alerts = b.open_alerts.filter(function(o){ return o.compartment !== a.compartment || Date.parse(o.ts) > t; });
          } else if (!b.open_alerts.some(function(o){ return o.id === a.id; })) {
            b.open_alerts.push(a);
          }
          renderRow(b);
          renderNeeds();
        });
        })();
        """#
}
