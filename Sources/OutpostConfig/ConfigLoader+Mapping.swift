import SpendMapping
import Yams

/// The hub's `mapping:` section.
extension ConfigLoader {
    static func mappingSettings(_ top: MappingReader) -> MappingSettings? {
        guard let r = top.mapping("mapping", allowedKeys: ["enabled", "tolerance_percent", "profiles", "flat_layouts"]) else { return nil }
        var settings = MappingSettings()
        if let enabled = r.bool("enabled") { settings.enabled = enabled }
        if r.has("tolerance_percent"), let node = r.value("tolerance_percent") {
            let text = node.scalar?.string ?? ""
            if let value = ExactDecimal(text), value.significand >= 0, value <= ExactDecimal(significand: 100, scale: 0) {
                settings.tolerancePercent = value
            } else {
                r.report("tolerance_percent", "'\(text)' is not a percentage from 0 to 100", fix: "write e.g. `tolerance_percent: 2`")
            }
        }
        if let layouts = r.value("flat_layouts"), !layouts.isNull {
            settings.flatLayout = FlatSegmentLayout.builtIn.merging(flatLayouts(layouts, at: r.keyPath("flat_layouts"), log: r.log))
        }
        var names: [String: Int] = [:]
        for (index, item) in (r.sequence("profiles") ?? []).enumerated() {
            let path = "\(r.keyPath("profiles"))[\(index)]"
            guard let override = profile(item, at: path, log: r.log) else { continue }
            if let first = names[override.name] {
                r.log.report(path, at: item, "profile name '\(override.name)' is already used by profiles[\(first)]", fix: "give every profile its own name")
            }
            names[override.name] = index
            settings.overrides.append(override)
        }
        return settings
    }

    private static let profileKeys = ["name", "extends", "region", "sender", "extension", "header", "items", "defaults", "attributes", "protected"]

    private static func profile(_ node: Node, at path: String, log: ProblemLog) -> ProfileOverride? {
        guard let r = MappingReader.open(node, at: path, log: log, allowedKeys: profileKeys) else { return nil }
        guard let name = r.string("name", required: "emea-orders"),
              let extends = r.string("extends", required: BuiltInProfiles.names[0])
        else { return nil }
        var override = ProfileOverride(name: name, extends: extends)
        override.region = r.string("region")
        override.sender = r.string("sender")
        override.extensionType = r.string("extension")
        if override.region == nil, override.sender == nil, override.extensionType == nil {
            r.report(
                "extends", "profile '\(name)' names no region, sender or extension, so it would replace '\(extends)' everywhere",
                fix: "add region, sender or extension, the documents it is for")
        }
        if let header = r.mapping("header", allowedKeys: MappingProfile.headerFields) {
            for key in MappingProfile.headerFields { if let paths = paths(header, key) { override.header[key] = paths } }
        }
        if let items = r.mapping("items", allowedKeys: ["segment"] + MappingProfile.itemFields) {
            if let segment = items.string("segment") {
                do {
                    override.itemSegment = try FieldPath.segments(parsing: segment)
                } catch {
                    items.report("segment", error.description, fix: "write segment names separated by /, e.g. E1EDP01")
                }
            }
            for key in MappingProfile.itemFields { if let paths = paths(items, key) { override.item[key] = paths } }
        }
        if let defaults = r.mapping("defaults", allowedKeys: MappingProfile.headerFields) {
            for key in MappingProfile.headerFields { if let value = defaults.string(key) { override.defaults[key] = value } }
        }
        if let attributes = r.value("attributes"), !attributes.isNull {
            let keys = (attributes.mapping.map { Array($0.keys) } ?? []).compactMap { $0.scalar?.string }
            if let reader = r.mapping("attributes", allowedKeys: keys) {
                for key in keys { if let paths = paths(reader, key) { override.attributes[key] = paths } }
            }
        }
        override.protected = r.stringList("protected") ?? []
        for problem in override.problems() {
            log.report(path, at: node, "profile '\(name)' \(problem)", fix: "see docs/MAPPING.md for the fields and paths a profile may use")
        }
        return override
    }

    /// A path or a list of paths, tried in order.
    private static func paths(_ r: MappingReader, _ key: String) -> [FieldPath]? {
        guard let node = r.value(key), !node.isNull else { return nil }
        let texts: [String]
        if let scalar = node.scalar?.string {
            texts = [scalar]
        } else if let list = r.stringList(key) {
            texts = list
        } else {
            return nil
        }
        var paths: [FieldPath] = []
        for text in texts {
            do {
                paths.append(try FieldPath(parsing: text))
            } catch {
                r.report(key, error.description, fix: "write SEGMENT[FIELD=VALUE]/…/FIELD, e.g. E1EDKA1[PARVW=LF]/PARTN")
            }
        }
        return paths.count == texts.count ? paths : nil
    }

    /// `flat_layouts: {SEGMENT: {FIELD: [offset, width], …}, …}`
    private static func flatLayouts(_ node: Node, at path: String, log: ProblemLog) -> FlatSegmentLayout {
        var layout = FlatSegmentLayout(segments: [:])
        guard let segments = node.mapping else {
            log.report(path, at: node, "expected a mapping of segment names to fields", fix: "write e.g. `flat_layouts: {Z1KOSTL: {KOSTL: [0, 10]}}`")
            return layout
        }
        for (segmentNode, fieldsNode) in segments {
            guard let segment = segmentNode.scalar?.string else { continue }
            let segmentPath = "\(path).\(segment)"
            guard let fields = fieldsNode.mapping else {
                log.report(segmentPath, at: fieldsNode, "expected a mapping of field names to [offset, width]", fix: "write e.g. `KOSTL: [0, 10]`")
                continue
            }
            var specs: [FlatSegmentLayout.Field] = []
            for (fieldNode, value) in fields {
                guard let field = fieldNode.scalar?.string else { continue }
                let numbers = (value.sequence.map(Array.init) ?? []).compactMap { $0.scalar.flatMap { Int($0.string) } }
                guard numbers.count == 2, numbers[0] >= 0, numbers[0] < 1000, numbers[1] > 0, numbers[0] + numbers[1] <= 1000 else {
                    log.report(
                        "\(segmentPath).\(field)", at: value, "expected [offset, width] in characters within the 1,000 of segment data",
                        fix: "write e.g. `\(field): [0, 10]` (offset from 0)")
                    continue
                }
                specs.append(FlatSegmentLayout.Field(name: field, offset: numbers[0], width: numbers[1]))
            }
            layout.segments[segment] = specs.sorted { $0.offset < $1.offset }
        }
        return layout
    }
}
