/// `routing_key:` of an amqp hub: literal text with `{attribute}` placeholders, each
/// replaced by that CloudEvent attribute's value (`{type}.{region}` →
/// `sap.idoc.ORDERS.emea`). A missing attribute becomes empty text.
public struct RoutingKeyTemplate: Sendable, Equatable, CustomStringConvertible {
    enum Part: Sendable, Equatable {
        case literal(String)
        case attribute(String)
    }

    let parts: [Part]
    public let description: String

    /// - Throws: ``RoutingKeyTemplateError`` for an unclosed brace or a placeholder that is
    ///   not a CloudEvents attribute name (`a-z0-9`).
    public init(_ template: String) throws {
        description = template
        var parts: [Part] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.literal(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw RoutingKeyTemplateError(template: template, problem: "a '{' is never closed")
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard !name.isEmpty, name.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }) else {
                throw RoutingKeyTemplateError(
                    template: template, problem: "'{\(name)}' is not an event attribute name (lowercase a-z0-9, e.g. {type})")
            }
            parts.append(.attribute(name))
            rest = rest[rest.index(after: close)...]
        }
        if rest.contains("}") {
            throw RoutingKeyTemplateError(template: template, problem: "a '}' has no matching '{'")
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        self.parts = parts
    }

    /// The routing key for an event whose attributes `lookup` returns.
    func render(_ lookup: (String) -> String?) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text): out += text
            case .attribute(let name): out += lookup(name) ?? ""
            }
        }
        return out
    }
}

/// A `routing_key` template that cannot be used.
public struct RoutingKeyTemplateError: Error, Sendable, CustomStringConvertible {
    public let template: String
    public let problem: String

    public var description: String { "routing_key '\(template)': \(problem)" }
}
