/// The `headers` table of a message: names and values in the order they were set, so that a
/// message is written as it was built, without hashing or sorting its names. Setting a name
/// again replaces its value in place; two tables are equal when they hold the same names with
/// the same values, in any order.
public struct AMQPHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var value: AMQPFieldValue
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, AMQPFieldValue)...) {
        for (name, value) in elements { self[name] = value }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }
    /// The names, in the order they were first set.
    public var keys: [String] { entries.map(\.name) }

    public mutating func reserveCapacity(_ count: Int) { entries.reserveCapacity(count) }

    /// Appends a name known not to be in the table yet (no search).
    public mutating func appendNew(_ name: String, _ value: AMQPFieldValue) {
        entries.append(Entry(name: name, value: value))
    }

    public subscript(name: String) -> AMQPFieldValue? {
        get { entries.first { $0.name == name }?.value }
        set {
            let index = entries.firstIndex { $0.name == name }
            switch (index, newValue) {
            case (let i?, let value?): entries[i].value = value
            case (let i?, nil): entries.remove(at: i)
            case (nil, let value?): entries.append(Entry(name: name, value: value))
            case (nil, nil): break
            }
        }
    }

    public static func == (a: AMQPHeaders, b: AMQPHeaders) -> Bool {
        a.count == b.count && a.entries.allSatisfy { b[$0.name] == $0.value }
    }
}
