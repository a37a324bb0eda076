import AMQPClient
import AMQPSink
import AMQPSource
import EventModel
import Logging
import OutpostConfig

extension AgentAssembly {
    /// The broker endpoint for `url` with the credentials file's user, if one is named.
    static func amqpEndpoint(url: String, credentialsFile: String?, caFile: String? = nil, key: String) throws -> AMQPEndpoint {
        if let credentialsFile, let problem = SecretFilePermissions.problem(path: credentialsFile, key: "credentials_file") {
            throw AssemblyError("\(key): \(problem)")
        }
        do {
            let credentials = try credentialsFile.map { try AMQPCredentials.read(file: $0) }
            var endpoint = try AMQPEndpoint(url: url, credentials: credentials)
            endpoint.caFile = caFile
            return endpoint
        } catch {
            throw AssemblyError("\(key): \(error)")
        }
    }

    static func amqpSourceSettings(_ c: AMQPSourceConfiguration) throws -> AMQPSourceSettings {
        let endpoint = try amqpEndpoint(url: c.url, credentialsFile: c.credentialsFile, key: "sources: \(c.name)")
        var s = AMQPSourceSettings(name: c.name, endpoint: endpoint, queue: c.queue)
        s.prefetch = c.prefetch
        s.format = format(c.format)
        s.rejectExchange = c.rejectExchange
        s.rejectRoutingKey = c.rejectRoutingKey
        return s
    }

    static func amqpSinkSettings(_ hub: HubSinkConfiguration) throws -> AMQPSinkSettings {
        let endpoint = try amqpEndpoint(url: hub.url, credentialsFile: hub.credentialsFile, caFile: hub.caFile, key: "hub")
        let template: RoutingKeyTemplate
        do {
            template = try RoutingKeyTemplate(hub.routingKey)
        } catch {
            throw AssemblyError("hub: \(error)")
        }
        var s = AMQPSinkSettings(endpoint: endpoint, exchange: hub.exchange ?? "", routingKey: template)
        s.contentMode = hub.contentMode == .structured ? .structured : .binary
        s.confirmTimeout = hub.requestTimeout
        return s
    }
}
