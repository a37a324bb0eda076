import Foundation

/// Renders ``DashboardModel`` as one self-contained HTML page: inline CSS, an inline SVG
/// chart, no script, nothing fetched from elsewhere; it refreshes itself every
/// ``refreshSeconds``.
enum DashboardPage {
    static let refreshSeconds = 30
    static let palette = ["#2f6fb0", "#e08a1e", "#3a9a5b", "#b0413e", "#7b5ea7", "#6b7b8c", "#c2a12c", "#2aa1a1"]

    static func render(_ model: DashboardModel) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Outpost hub</title>
            <style>\(css)</style></head><body>
            <header><h1>Outpost hub</h1><span class="muted">generated \(escape(stamp(model.generatedAt))) · refreshes every \(refreshSeconds) s</span></header>

            """
        html += summary(model)
        html += agents(model)
        html += chart(model)
        html += types(model)
        html += spend(model)
        html += rejections(model)
        html += "</body></html>\n"
        return html
    }

    static func summary(_ model: DashboardModel) -> String {
        func tile(_ id: String, _ label: String, _ value: String, alert: Bool = false) -> String {
            "<div class=\"tile\(alert ? " alert" : "")\" id=\"\(id)\"><div class=\"value\">\(escape(value))</div><div class=\"label\">\(label)</div></div>"
        }
        let silent = model.silentAgents.count
        return "<section class=\"tiles\">"
            + tile("events", "events stored", "\(model.totalEvents)")
            + tile("regions", "regions", "\(model.regions.count)")
            + tile("agents", "agents", "\(model.agents.count)")
            + tile("silent", "silent agents", "\(silent)", alert: silent > 0)
            + tile("latency-p50", "delivery latency p50", model.latencyP50.map(duration) ?? "–")
            + tile("latency-p99", "delivery latency p99", model.latencyP99.map(duration) ?? "–")
            + tile("duplicates", "duplicates dropped", "\(model.duplicatesDropped)")
            + tile("conflicts", "id conflicts (GET /v1/conflicts)", "\(model.idConflicts)", alert: model.idConflicts > 0)
            + tile("rejected", "rejected documents", "\(model.rejections.count)", alert: model.rejections.count > 0)
            + tile("dead-letters", "dead letters at agents", "\(model.deadLettersTotal)", alert: model.deadLettersTotal > 0)
            + (model.mapping == nil ? "" :
                tile("failed-mappings", "failed mappings (GET /v1/mapping-failures)", "\(model.failedMappings)", alert: model.failedMappings > 0)
                + tile("exceptions", "open match exceptions (GET /v1/exceptions)", "\(model.openExceptions)", alert: model.openExceptions > 0))
            + "</section>\n"
    }

    static func agents(_ model: DashboardModel) -> String {
        var out = "<section><h2>Regions and agents</h2>"
        out += "<p class=\"muted\">Silent: no heartbeat for more than \(Int(DashboardModel.silentAfterMissedHeartbeats)) heartbeats (\(Int(DashboardModel.silentAfterMissedHeartbeats * DashboardModel.heartbeatInterval)) s). Latency: pickup to storage at the hub, last 24 h, \(model.latencySamples) events.</p>"
        for region in model.regions {
            out += "<h3>Region \(escape(region))</h3><table class=\"agents\"><thead><tr><th>agent</th><th>last heartbeat</th><th>last batch</th><th>backlog</th><th>oldest pending</th><th>dead letters</th><th>id conflicts</th><th>state</th><th>last pickup per source</th><th>version</th></tr></thead><tbody>"
            for row in model.agents where row.region == region {
                let state = [
                    row.intakePaused.map { "intake paused: \($0)" }, row.deliveryPaused.map { "delivery paused: \($0)" },
                    row.hubFailure.map { "hub unreachable: \($0)" },
                ].compactMap { $0 }
                let pickups = row.lastPickups.map { "\($0.source): \($0.time ?? "never")" }.joined(separator: "<br>")
                out += "<tr class=\"agent\(row.silent ? " silent" : "")\" data-agent=\"\(escape(row.id))\">"
                out += "<td>\(escape(row.id))\(row.silent ? " <span class=\"badge\">SILENT</span>" : "")</td>"
                out += "<td>\(row.heartbeatAge.map { duration($0) + " ago" } ?? "never")</td>"
                out += "<td>\(escape(row.lastSeen ?? "never"))</td>"
                out += "<td class=\"num\">\(row.backlog.map { "\($0) (\(bytes($0 == 0 ? 0 : row.backlogBytes ?? 0)))" } ?? "–")</td>"
                out += "<td class=\"num\">\(row.oldestPendingAge.map(duration) ?? "–")</td>"
                out += "<td class=\"num\(row.deadLetters ?? 0 > 0 ? " bad" : "")\">\(row.deadLetters.map(String.init) ?? "–")</td>"
                out += "<td class=\"num\(row.conflicts > 0 ? " bad" : "")\">\(row.conflicts)</td>"
                out += "<td>\(state.isEmpty ? (row.heartbeatAge == nil ? "–" : "ok") : state.map(escape).joined(separator: "<br>"))</td>"
                out += "<td>\(pickups.isEmpty ? "–" : pickupsEscaped(row))</td>"
                out += "<td>\(escape(row.version ?? "–"))</td></tr>"
            }
            out += "</tbody></table>"
        }
        if model.regions.isEmpty { out += "<p>No agents configured or seen yet.</p>" }
        return out + "</section>\n"
    }

    static func pickupsEscaped(_ row: DashboardModel.AgentRow) -> String {
        row.lastPickups.map { "\(escape($0.source)): \(escape($0.time ?? "never"))" }.joined(separator: "<br>")
    }

    /// Stacked bars: events per hour over the last 24 hours, one colour per type.
    static func chart(_ model: DashboardModel) -> String {
        let types = model.chartTypes
        let width = 720.0, height = 180.0, left = 40.0, bottom = 20.0
        let totals = model.hours.map { hour in types.reduce(0) { $0 + (model.hourly[$1]?[hour] ?? 0) } }
        let peak = max(1, totals.max() ?? 1)
        let slot = (width - left) / Double(model.hours.count)
        var svg = "<svg id=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"events per hour and type\">"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width)\" y2=\"\(height - bottom)\" stroke=\"#999\"/>"
        svg += "<text x=\"\(left - 4)\" y=\"12\" text-anchor=\"end\" class=\"axis\">\(peak)</text>"
        svg += "<text x=\"\(left - 4)\" y=\"\(height - bottom)\" text-anchor=\"end\" class=\"axis\">0</text>"
        for (index, hour) in model.hours.enumerated() {
            var y = height - bottom
            let x = left + Double(index) * slot + 1
            for (typeIndex, type) in types.enumerated() {
                let count = model.hourly[type]?[hour] ?? 0
                guard count > 0 else { continue }
                let h = (height - bottom - 16) * Double(count) / Double(peak)
                y -= h
                svg += "<rect class=\"bar\" x=\"\(format(x))\" y=\"\(format(y))\" width=\"\(format(slot - 2))\" height=\"\(format(h))\" fill=\"\(palette[typeIndex % palette.count])\"><title>\(escape(type)): \(count) at \(hourLabel(hour))</title></rect>"
            }
            if index % 4 == 0 {
                svg += "<text x=\"\(format(x))\" y=\"\(height - 4)\" class=\"axis\">\(hourLabel(hour))</text>"
            }
        }
        svg += "</svg>"
        var legend = "<ul class=\"legend\">"
        for (index, type) in types.enumerated() {
            legend += "<li><span class=\"swatch\" style=\"background:\(palette[index % palette.count])\"></span>\(escape(type))</li>"
        }
        legend += "</ul>"
        return "<section><h2>Events per hour and type (last 24 h, UTC, heartbeats not shown)</h2>\(svg)\(types.isEmpty ? "<p>No events in the last 24 hours.</p>" : legend)</section>\n"
    }

    static func types(_ model: DashboardModel) -> String {
        let current = model.hours.last ?? 0
        var out = "<section><h2>Event types</h2><table id=\"types\"><thead><tr><th>type</th><th>last hour</th><th>previous hour</th><th>last 24 h</th></tr></thead><tbody>"
        for type in model.hourly.keys.sorted() {
            let counts = model.hourly[type] ?? [:]
            out += "<tr><td>\(escape(type))</td><td class=\"num\">\(counts[current] ?? 0)</td><td class=\"num\">\(counts[current - 1] ?? 0)</td><td class=\"num\">\(counts.values.reduce(0, +))</td></tr>"
        }
        return out + "</tbody></table></section>\n"
    }

    /// Spend by region and currency, and the mapping's failures and exceptions by region.
    static func spend(_ model: DashboardModel) -> String {
        guard let mapping = model.mapping else { return "" }
        var out = "<section><h2>Spend by region (GET /v1/spend)</h2><table id=\"spend\"><thead><tr><th>region</th><th>currency</th><th>ordered</th><th>received</th><th>invoiced</th></tr></thead><tbody>"
        for total in model.spendByRegion {
            out += "<tr class=\"spend\"><td>\(escape(total.group["region"] ?? ""))</td><td>\(escape(total.currency))</td><td class=\"num\">\(total.ordered)</td><td class=\"num\">\(total.received)</td><td class=\"num\">\(total.invoiced)</td></tr>"
        }
        if model.spendByRegion.isEmpty { out += "<tr><td colspan=\"5\">No mapped documents yet.</td></tr>" }
        out += "</tbody></table>"
        out += "<h2>Failed mappings by region and type</h2><table id=\"failed-mappings\"><thead><tr><th>region</th><th>type</th><th>failed</th></tr></thead><tbody>"
        for count in mapping.failures {
            out += "<tr class=\"failed-mapping\"><td>\(escape(count.region))</td><td>\(escape(count.type))</td><td class=\"num bad\">\(count.count)</td></tr>"
        }
        if mapping.failures.isEmpty { out += "<tr><td colspan=\"3\">None.</td></tr>" }
        out += "</tbody></table>"
        out += "<h2>Open three-way-match exceptions by region</h2><table id=\"exceptions\"><thead><tr><th>region</th><th>exception</th><th>open</th></tr></thead><tbody>"
        for count in mapping.exceptions {
            out += "<tr class=\"exception\"><td>\(escape(count.region))</td><td><code>\(escape(count.type))</code></td><td class=\"num bad\">\(count.count)</td></tr>"
        }
        if mapping.exceptions.isEmpty { out += "<tr><td colspan=\"3\">None.</td></tr>" }
        return out + "</tbody></table></section>\n"
    }

    static func rejections(_ model: DashboardModel) -> String {
        var out = "<section><h2>Rejected documents (\(model.rejections.count))</h2><table id=\"rejections\"><thead><tr><th>time</th><th>agent</th><th>file</th><th>reason</th><th>detail</th></tr></thead><tbody>"
        for rejected in model.rejections.recent {
            out += "<tr class=\"rejected\"><td>\(escape(rejected.time ?? ""))</td><td>\(escape(rejected.agentID))</td><td>\(escape(rejected.filename ?? ""))</td><td><code>\(escape(rejected.reason ?? ""))</code></td><td>\(escape(rejected.detail ?? ""))</td></tr>"
        }
        if model.rejections.recent.isEmpty { out += "<tr><td colspan=\"5\">None.</td></tr>" }
        return out + "</tbody></table></section>\n"
    }

    // MARK: formatting

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        if seconds < 120 { return String(format: "%.1f s", seconds) }
        if seconds < 7200 { return "\(Int(seconds / 60)) min" }
        if seconds < 172_800 { return "\(Int(seconds / 3600)) h" }
        return "\(Int(seconds / 86400)) d"
    }

    static func bytes(_ count: Int) -> String {
        if count < 1024 { return "\(count) B" }
        if count < 1 << 20 { return String(format: "%.1f KiB", Double(count) / 1024) }
        return String(format: "%.1f MiB", Double(count) / 1_048_576)
    }

    static func stamp(_ seconds: Double) -> String { Date(timeIntervalSince1970: seconds.rounded(.down)).rfc3339 }

    static func hourLabel(_ hour: Int64) -> String {
        let h = hour % 24
        return (h < 10 ? "0" : "") + "\(h):00"
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    static let css = """
        body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#1d2733;background:#f7f8fa}
        header{display:flex;align-items:baseline;gap:16px}h1{font-size:22px;margin:0 0 8px}
        h2{font-size:16px;margin:20px 0 6px}h3{font-size:14px;margin:12px 0 4px}
        .muted,.axis{color:#6b7785;font-size:12px;fill:#6b7785}
        .tiles{display:flex;flex-wrap:wrap;gap:8px}
        .tile{background:#fff;border:1px solid #d8dee5;border-radius:6px;padding:8px 12px;min-width:110px}
        .tile .value{font-size:20px;font-weight:600}.tile .label{font-size:12px;color:#6b7785}
        .tile.alert{border-color:#c0392b;background:#fdecea}
        table{border-collapse:collapse;background:#fff;width:100%}
        th,td{border:1px solid #d8dee5;padding:4px 8px;text-align:left;vertical-align:top}
        th{background:#eef1f5;font-weight:600}td.num{text-align:right}td.bad{color:#c0392b;font-weight:600}
        tr.silent td{background:#fdecea}.badge{background:#c0392b;color:#fff;border-radius:3px;padding:0 4px;font-size:11px}
        svg{background:#fff;border:1px solid #d8dee5}
        .legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:12px;font-size:12px}
        .swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
        """
}
