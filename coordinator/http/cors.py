"""Cross-origin access, only for the origins the deployment names (none by default).

Without `COORDINATOR_CORS_ORIGINS` no response carries CORS headers, so browsers keep other
sites' pages from calling the API with a user's token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def cors_middleware(origins: tuple[str, ...]) -> Middleware:
    """A middleware answering preflights and marking answers for `origins` only."""
    allowed = frozenset(origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin not in allowed:
            return await handler(request)
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Vary": "Origin",
            "Access-Control-Expose-Headers": "X-Request-Id, Retry-After",
        }
        if request.method == "OPTIONS":
            headers |= {
                "Access-Control-Allow-Methods": "GET, POST, DELETE",
                "Access-Control-Allow-Headers": "Authorization, Content-Type, Last-Event-ID, "
                "X-Request-Id, X-Correlation-Id",
                "Access-Control-Max-Age": "600",
            }
            return web.Response(status=204, headers=headers)
        response = await handler(request)
        response.headers.update(headers)
        return response

    return cors
