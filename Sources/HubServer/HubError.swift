import Hummingbird

/// An answer other than 200, with a JSON body `{"error":"…"}` that says what is wrong and
/// how to fix it.
struct HubError: HTTPResponseError, CustomStringConvertible {
    let status: HTTPResponse.Status
    let message: String
    /// Seconds for `Retry-After` (429, 503).
    var retryAfterSeconds: Int?

    var description: String { "\(status.code) \(message)" }

    static func badRequest(_ message: String) -> HubError { HubError(status: .badRequest, message: message) }

    static let missingToken = HubError(
        status: .unauthorized, message: "missing or unknown bearer token; send Authorization: Bearer <token>")

    static func overloaded(_ message: String, retryAfterSeconds: Int = 1) -> HubError {
        HubError(status: .serviceUnavailable, message: message, retryAfterSeconds: retryAfterSeconds)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [:]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return try Response.json(ErrorBody(error: message), status: status, headers: headers)
    }

    private struct ErrorBody: Encodable {
        var error: String
    }
}
