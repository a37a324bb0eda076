/// Names that end up in event URIs (`outpost://AGENT/SOURCE`) and in the hub's tables.
enum Identifier {
    /// The characters allowed, as operators read them in an error message.
    static let allowedDescription = "letters, digits, '.', '_' and '-'"

    /// True for a non-empty string of `[A-Za-z0-9._-]`.
    static func isValid(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}
