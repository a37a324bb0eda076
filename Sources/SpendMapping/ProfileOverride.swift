/// A profile from the hub's configuration (`mapping.profiles`): a built-in profile changed
/// or extended for one region, sender system or extension type.
public struct ProfileOverride: Sendable, Equatable {
    public var name: String
    /// The built-in profile it starts from.
    public var extends: String
    public var region: String?
    public var sender: String?
    public var extensionType: String?
    /// Replaces the base's paths for these header fields.
    public var header: [String: [FieldPath]] = [:]
    /// Replaces the base's item segment.
    public var itemSegment: [FieldPath.Step]?
    public var item: [String: [FieldPath]] = [:]
    public var defaults: [String: String] = [:]
    public var attributes: [String: [FieldPath]] = [:]
    /// Added to the base's protected segments and fields.
    public var protected: [String] = []

    public init(name: String, extends: String) {
        self.name = name
        self.extends = extends
    }

    /// The profile this override makes of `base`.
    public func applied(to base: MappingProfile) -> MappingProfile {
        var profile = base
        profile.name = name
        profile.selector.region = region
        profile.selector.sender = sender
        profile.selector.extensionType = extensionType
        profile.header.merge(header) { $1 }
        if let itemSegment { profile.itemSegment = itemSegment }
        profile.item.merge(item) { $1 }
        profile.defaults.merge(defaults) { $1 }
        profile.attributes.merge(attributes) { $1 }
        profile.protected += protected.filter { !profile.protected.contains($0) }
        return profile
    }

    /// What is wrong with the override, one sentence each (empty when it is valid).
    public func problems() -> [String] {
        guard let base = BuiltInProfiles.named(extends) else {
            return ["extends '\(extends)', which is not a built-in profile (\(BuiltInProfiles.names.joined(separator: ", ")))"]
        }
        var problems: [String] = []
        for key in header.keys.sorted() where !MappingProfile.headerFields.contains(key) {
            problems.append("header field '\(key)' is not a canonical field (\(MappingProfile.headerFields.joined(separator: ", ")))")
        }
        for key in item.keys.sorted() where !MappingProfile.itemFields.contains(key) {
            problems.append("item field '\(key)' is not a canonical item field (\(MappingProfile.itemFields.joined(separator: ", ")))")
        }
        for key in defaults.keys.sorted() where !MappingProfile.headerFields.contains(key) {
            problems.append("default '\(key)' is not a canonical field")
        }
        if !item.isEmpty, itemSegment == nil, base.itemSegment == nil {
            problems.append("sets item fields, but '\(extends)' has no item segment; set items.segment")
        }
        let profile = applied(to: base)
        let read = [profile.header, profile.item, profile.attributes].flatMap { $0.values.flatMap { $0 } }
        for path in read.sorted(by: { $0.description < $1.description }) where profile.isProtected(path) {
            problems.append("reads '\(path)', which is protected: it must never reach the canonical model")
        }
        return problems
    }
}
