import Hummingbird

/// Requires the read token (`read_token_sha256`) on the routes it guards; without a digest
/// configured (and reads not declared open) every read is refused, saying how to allow it.
struct ReadTokenMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let digest: TokenDigest?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let digest else {
            throw HubError(
                status: .unauthorized,
                message: "reads are locked: this hub has no read_token_sha256 configured; set one "
                    + "(outpost-hub hash-token < token-file) or, knowingly, read_access: open")
        }
        guard let presented = BearerAuthenticator.digestOfBearerToken(request.headers[.authorization]),
              presented.matchesInConstantTime(digest)
        else {
            throw HubError(
                status: .unauthorized,
                message: "reading needs the hub's read token; send Authorization: Bearer <read token>")
        }
        return try await next(request, context)
    }
}
