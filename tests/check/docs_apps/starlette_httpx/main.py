"""The application: routes, middleware, lifespan and error handling."""

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from . import endpoints
from .middleware import ProcessTimeMiddleware
from .upstream import LIMITS, TIMEOUT


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=LIMITS) as client:
        app.state.http_client = client
        yield


async def http_exception(request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


routes = [
    Route("/", endpoints.homepage),
    Route("/signup", endpoints.signup, methods=["POST"]),
    Route("/dashboard", endpoints.dashboard),
    Route("/links/check", endpoints.check_links, methods=["POST"]),
    Route("/mirror", endpoints.mirror),
    Route("/numbers", endpoints.numbers),
    Route("/clock", endpoints.clock),
    Route("/files/{name}/digest", endpoints.digest),
    WebSocketRoute("/ws", endpoints.Echo),
]

middleware = [Middleware(ProcessTimeMiddleware)]

app = Starlette(
    routes=routes,
    middleware=middleware,
    exception_handlers={HTTPException: http_exception},
    lifespan=lifespan,
)
