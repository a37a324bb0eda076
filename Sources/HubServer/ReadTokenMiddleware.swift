import Hummingbird

/// Requires the read token (`read_token_sha256`) on the routes it guards.
struct ReadTokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let digest: TokenDigest

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
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
