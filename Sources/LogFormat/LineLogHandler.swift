import EventModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// One line per log record on stderr, `key=value` (logfmt) or JSON, with stable keys; used by
/// both executables.
///
/// Under systemd (`JOURNAL_STREAM` set) each line starts with a syslog priority prefix
/// (`<6>`) and carries no timestamp, since journald adds its own.
public struct LineLogHandler: LogHandler {
    public enum Format: Sendable { case logfmt, json }
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let format: Format
    let journald: Bool

    private static let lock = Mutex(())

    public init(label: String, level: Logger.Level, format: Format, journald: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.journald = journald
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = render(level: event.level, message: "\(event.message)", metadata: event.metadata, at: Date())
        LineLogHandler.lock.withLock { _ in
            // A line the reader cannot take (its pipe closed, a full disk) is dropped: there is
            // nowhere to report it.
            StandardStream.write(line, to: STDERR_FILENO)
        }
    }

    /// Makes these lines the process's log; for the daemons (`outpost run`, `outpost-hub
    /// serve`). A closed log pipe (the reader of stderr gone) must not end the process, so
    /// SIGPIPE is ignored first and a write fails instead (then the line is dropped).
    /// SwiftNIO ignores SIGPIPE for the whole process too, but only once it opens its first
    /// socket, and systemd ignores it for its services (`IgnoreSIGPIPE=yes`); this holds from
    /// the first log line, however the daemon is run.
    public static func bootstrap(level: Logger.Level, format: Format) {
        ignoreBrokenPipes()
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level, format: format) }
    }

    static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// The line written for one record, newline included.
    func render(level: Logger.Level, message: String, metadata extra: Logger.Metadata?, at time: Date) -> String {
        var fields: [(String, String)] = []
        if !journald { fields.append(("ts", RFC3339.format(time.timeIntervalSince1970, milliseconds: true))) }
        fields.append(("level", "\(level)"))
        fields.append(("msg", message))
        var merged = metadata
        if let extra { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() { fields.append((key, "\(merged[key]!)")) }
        var line = journald ? "<\(LineLogHandler.priority(level))>" : ""
        switch format {
        case .logfmt:
            line += fields.map { "\($0.0)=\(LineLogHandler.quoted($0.1))" }.joined(separator: " ")
        case .json:
            var object: [String: String] = [:]
            for (k, v) in fields { object[k] = v }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            line += String(decoding: data, as: UTF8.self)
        }
        return line + "\n"
    }

    static func quoted(_ value: String) -> String {
        let needs = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" || $0 == "\\" }
        guard needs else { return value }
        var out = "\""
        for c in value {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
