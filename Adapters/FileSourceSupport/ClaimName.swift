import EventModel
/// The private name a file source renames a document to while it owns it, so that a new
/// file a writer puts under the document's name meanwhile is never mistaken for it.
///
/// `.outpost-claim.<name>`, or `.outpost-claim-<n>.<name>` when that is taken (a claim left
/// behind that could not yet be given its name back). Claim names are never documents
/// (``FileNameFilter/isDocument(_:)``); a source gives a claimed file found at start its
/// name back, so that it is read (or recognised by its receipt) again.
public enum ClaimName {
    static let prefix = ".outpost-claim"

    /// The `attempt`-th claim name of `name` (0 is the plain one).
    public static func of(_ name: String, attempt: Int = 0) -> String {
        attempt == 0 ? prefix + "." + name : prefix + "-\(attempt)." + name
    }

    /// The document name a claim name stands for; nil when `name` is not a claim name.
    public static func original(of name: String) -> String? {
        guard name.hasPrefix(prefix) else { return nil }
        var rest = name.dropFirst(prefix.count)
        if rest.first == "-" {
            rest = rest.dropFirst()
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { return nil }
            rest = rest.dropFirst(digits.count)
        }
        guard rest.first == ".", rest.count > 1 else { return nil }
        return String(rest.dropFirst())
    }
}
