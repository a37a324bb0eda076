import EventModel
import Foundation
import HTTPSink
import OutpostConfig

extension AgentAssembly {
    /// `hub.proxy` and `hub.proxy_credentials_file` as the HTTP sink's proxy setting.
    /// - Throws: when the credentials file is loose (readable by others), unreadable, empty or not `user:password`.
    static func proxy(_ hub: HubSinkConfiguration) throws -> HTTPSinkProxy {
        let setting: HTTPSinkProxy.Setting =
            switch hub.proxy {
            case .environment: .environment
            case .none: .direct
            case .url(let url): .url(url)
            }
        guard let path = hub.proxyCredentialsFile else { return HTTPSinkProxy(setting: setting) }
        let key = "hub.proxy_credentials_file"
        if let problem = SecretFilePermissions.problem(path: path, key: key) { throw AssemblyError(problem) }
        let credentials: String
        do {
            credentials = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw AssemblyError("cannot read \(key) \(path): \(error.localizedDescription)")
        }
        guard let colon = credentials.firstIndex(of: ":"), colon != credentials.startIndex, !credentials.contains("\n") else {
            throw AssemblyError("\(key) \(path) must hold one line, user:password")
        }
        return HTTPSinkProxy(setting: setting, credentials: credentials)
    }
}
