"""What the probe learns from the app object itself: its routes, and its OpenAPI document."""

from __future__ import annotations

from typing import Any

AUTO_METHODS = {"HEAD", "OPTIONS"}
_DOCS_URLS = ("docs_url", "redoc_url", "openapi_url", "swagger_ui_oauth2_redirect_url")


def _router_of(app: Any) -> Any:
    """The object holding ``routes``: the app itself, or the app inside ASGI wrappers."""
    seen = 0
    while app is not None and seen < 20:
        if isinstance(getattr(app, "routes", None), list):
            return app
        app = getattr(app, "app", None)
        seen += 1
    return None


def list_routes(app: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Every route as plain data: kind (http, websocket, mount), methods, path and the types of
    its path parameters (Starlette's convertors). Mounted sub-apps with routes are walked."""
    router = _router_of(app)
    if router is None:
        return []
    found: list[dict[str, Any]] = []
    # FastAPI's own pages (Swagger UI, ReDoc, the schema) are not the app's routes.
    builtin = {getattr(router, a, None) for a in _DOCS_URLS} - {None}
    for route in router.routes:
        path = prefix + str(getattr(route, "path", ""))
        if not prefix and path in builtin:
            continue
        if callable(getattr(route, "effective_candidates", None)):
            found.extend(_included(route, prefix))
            continue
        convertors = getattr(route, "param_convertors", None) or {}
        params = {name: type(conv).__name__ for name, conv in convertors.items()}
        methods = getattr(route, "methods", None)
        if methods is not None:
            for method in sorted(set(methods) - AUTO_METHODS) or ["GET"]:
                found.append({"kind": "http", "method": method, "path": path, "params": params})
        elif hasattr(route, "routes") and _router_of(getattr(route, "app", None)) is not None:
            found.extend(list_routes(route.app, path))
        elif any(c.__name__ == "WebSocketRoute" for c in type(route).__mro__):
            found.append({"kind": "websocket", "method": "WEBSOCKET", "path": path, "params": {}})
        else:
            found.append({"kind": "mount", "method": "GET", "path": path, "params": params})
    return found


def _included(router: Any, prefix: str) -> list[dict[str, Any]]:
    """FastAPI >= 0.120 keeps an included router as one entry whose effective routes carry the
    full path (prefixes combined); nested includes are entries of their own."""
    found: list[dict[str, Any]] = []
    try:
        candidates = router.effective_candidates()
    except Exception:  # a private FastAPI API: if it changes, the OpenAPI document still helps
        return found
    for context in candidates:
        if callable(getattr(context, "effective_candidates", None)):
            found.extend(_included(context, prefix))
            continue
        path = prefix + str(getattr(context, "path_format", "") or getattr(context, "path", ""))
        convertors = getattr(context, "param_convertors", None) or {}
        params = {name: type(conv).__name__ for name, conv in convertors.items()}
        methods = getattr(context, "methods", None)
        original = getattr(context, "original_route", None)
        if methods:
            for method in sorted(set(methods) - AUTO_METHODS) or ["GET"]:
                found.append({"kind": "http", "method": method, "path": path, "params": params})
        elif any(c.__name__ == "WebSocketRoute" for c in type(original).__mro__):
            found.append({"kind": "websocket", "method": "WEBSOCKET", "path": path, "params": {}})
    return found


def openapi_of(app: Any) -> dict[str, Any]:
    """``{"openapi": document}`` for a FastAPI app, or why there is none."""
    router = _router_of(app)
    make = getattr(router, "openapi", None)
    if not callable(make):
        return {"openapi": None, "openapi_error": None}
    try:
        return {"openapi": make(), "openapi_error": None}
    except Exception as exc:  # a broken schema must not stop the probe: routes still come
        return {"openapi": None, "openapi_error": f"{type(exc).__name__}: {exc}"}
