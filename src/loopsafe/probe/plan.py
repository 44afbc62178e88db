"""Which requests the probe sends: one per route, filled from the user's samples, the OpenAPI
document (examples, defaults, types) or the path convertors; routes it cannot fill are skipped,
with the reason."""

from __future__ import annotations

import fnmatch
import os
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from loopsafe._errors import ConfigError

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SAMPLE_KEYS = {"path", "query", "headers", "json", "form", "files", "n", "skip"}
_UUID = "00000000-0000-4000-8000-000000000001"


@dataclass
class Samples:
    """What the user wrote: per-route request parts, and routes to leave out."""

    routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    source: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request


@dataclass
class PlannedRequest:
    route: str  # "GET /items/{item_id}"
    method: str
    url: str = ""  # path with its parameters filled, and the query string
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    form: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes]] | None = None  # multipart field -> (file name, content)
    n: int | None = None  # concurrent requests for this route, when the samples say
    skip: str | None = None  # why the probe does not send it


def load_samples(path: str | None, app_dir: str) -> Samples:
    """``--samples FILE`` (its top level, or its ``[tool.loopsafe.probe]``), else the
    ``[tool.loopsafe.probe]`` table of the nearest pyproject.toml above ``app_dir``."""
    if path is not None:
        if not os.path.isfile(path):
            raise ConfigError(f"samples file {path} does not exist (--samples)")
        table = _read(path, "--samples")
        table = table.get("tool", {}).get("loopsafe", {}).get("probe", table)
        return _parse(table, path)
    directory = os.path.abspath(app_dir)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            table = _read(candidate, "pyproject.toml").get("tool", {}).get("loopsafe", {})
            if "probe" in table:
                return _parse(table["probe"], f"{candidate} [tool.loopsafe.probe]")
            return Samples()
        parent = os.path.dirname(directory)
        if parent == directory:
            return Samples()
        directory = parent


def _read(path: str, source: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc} ({source})") from None


def _parse(table: Any, source: str) -> Samples:
    if not isinstance(table, dict):
        raise ConfigError(f"the probe samples must be a table ({source})")
    unknown = set(table) - {"routes", "exclude", "headers"}
    if unknown:
        raise ConfigError(
            f"unknown key {sorted(unknown)[0]!r} ({source}): expected `routes`, `exclude` "
            "and `headers`"
        )
    headers = table.get("headers", {})
    if not isinstance(headers, dict):
        raise ConfigError(f"`headers` must be a table of header names and values ({source})")
    exclude = table.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        raise ConfigError(f"`exclude` must be a list of 'METHOD /path' patterns ({source})")
    routes = table.get("routes", {})
    if not isinstance(routes, dict):
        raise ConfigError(f"`routes` must be a table keyed by 'METHOD /path' ({source})")
    for key, entry in routes.items():
        method, _, path = key.partition(" ")
        if not method.isupper() or not path.startswith("/"):
            raise ConfigError(f"route key {key!r} is not 'METHOD /path' ({source} routes)")
        if not isinstance(entry, dict) or set(entry) - SAMPLE_KEYS:
            bad = sorted(set(entry) - SAMPLE_KEYS)[0] if isinstance(entry, dict) else key
            raise ConfigError(
                f"bad sample {bad!r} for {key!r} ({source}): keys are {', '.join(sorted(SAMPLE_KEYS))}"
            )
        n = entry.get("n")
        if n is not None and (not isinstance(n, int) or not 1 <= n <= 256):
            raise ConfigError(f"`n` of {key!r} must be an integer from 1 to 256 ({source})")
        files = entry.get("files", {})
        if not isinstance(files, dict):
            raise ConfigError(f"`files` of {key!r} must map form fields to paths ({source})")
        for field_name, file_path in files.items():
            full = os.path.join(os.path.dirname(source.split(" [")[0]), str(file_path))
            if not os.path.isfile(full):
                raise ConfigError(
                    f"file {file_path} of {key!r} field {field_name!r} does not exist ({source})"
                )
            files[field_name] = full
    return Samples(routes, exclude, source, {str(k): str(v) for k, v in headers.items()})


def plan(
    info: dict[str, Any],
    samples: Samples,
    *,
    unsafe: bool = False,
    only: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> list[PlannedRequest]:
    """One request per route, in the app's order; routes with no way to call them are skipped."""
    document = info.get("openapi") or {}
    operations = _operations(document)
    routes: list[tuple[str, str, str, dict[str, str]]] = []
    seen: set[str] = set()
    for route in info.get("routes") or []:
        label = f"{route['method']} {route['path']}"
        if label not in seen:
            seen.add(label)
            routes.append((label, route["kind"], route["path"], route["params"]))
    for label in operations:  # a remote app: OpenAPI only
        if label not in seen:
            seen.add(label)
            routes.append((label, "http", label.partition(" ")[2], {}))
    planned = []
    for label, kind, path, convertors in routes:
        method = label.partition(" ")[0]
        if only and not any(fnmatch.fnmatchcase(label, p) for p in only):
            continue
        request = PlannedRequest(label, method)
        planned.append(request)
        sample = samples.routes.get(label, {})
        if any(fnmatch.fnmatchcase(label, p) for p in (*exclude, *samples.exclude)):
            request.skip = "excluded (--exclude or the samples' exclude)"
        elif "skip" in sample:
            request.skip = f"skipped by the samples: {sample['skip']}"
        elif kind == "websocket":
            request.skip = "a WebSocket route (the probe sends HTTP requests)"
        elif kind == "mount":
            request.skip = "a mounted app without routes (static files or another ASGI app)"
        elif method not in SAFE_METHODS and not unsafe and label not in samples.routes:
            # A sample written for the route is consent to send it.
            request.skip = f"{method} changes data: pass --unsafe, or give it a sample"
        else:
            request.skip = _fill(
                request, path, convertors, operations.get(label), document, sample, samples.headers
            )
    return planned


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for path, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}:
                found[f"{method.upper()} {path}"] = operation
    return found


def _fill(
    request: PlannedRequest,
    path: str,
    convertors: dict[str, str],
    operation: dict[str, Any] | None,
    document: dict[str, Any],
    sample: dict[str, Any],
    samples_headers: dict[str, str],
) -> str | None:
    """Fill ``request`` from the sample, then OpenAPI, then the convertors: the skip reason."""
    path_values: dict[str, Any] = dict(sample.get("path", {}))
    query: dict[str, Any] = dict(sample.get("query", {}))
    request.headers = dict(samples_headers)
    request.headers.update({str(k): str(v) for k, v in sample.get("headers", {}).items()})
    for parameter in (operation or {}).get("parameters", []):
        parameter = _deref(parameter, document)
        name, where = parameter.get("name", ""), parameter.get("in", "")
        known = {"path": path_values, "query": query, "header": request.headers}.get(where)
        if known is None or name in known or name.lower() in known:
            continue
        if where == "path" or parameter.get("required"):
            value = _example(parameter, document)
            if value is _MISSING:
                return (
                    f"no value for the required {where} parameter `{name}`: add one to the samples"
                )
            if where == "header":
                request.headers[name] = str(value)
            else:
                known[name] = value
    for name, convertor in convertors.items():
        path_values.setdefault(name, _by_convertor(convertor))
    url = path
    for name, value in path_values.items():
        for token in (
            f"{{{name}}}",
            *(f"{{{name}:{c}}}" for c in ("int", "float", "str", "path", "uuid")),
        ):
            url = url.replace(
                token, urllib.parse.quote(str(value), safe="/" if ":path" in token else "")
            )
    if "{" in url:
        return f"no value for a path parameter of `{path}`: add one to the samples"
    pairs = [(k, _text(x)) for k, v in query.items() for x in (v if isinstance(v, list) else [v])]
    request.url = url + ("?" + urllib.parse.urlencode(pairs) if pairs else "")
    request.n = sample.get("n")
    if "json" in sample:
        request.json = sample["json"]
    elif "form" in sample or "files" in sample:
        request.form = dict(sample.get("form", {}))
        request.files = {}
        for field_name, file_path in sample.get("files", {}).items():
            with open(file_path, "rb") as f:  # read once: every request sends the same bytes
                request.files[field_name] = (os.path.basename(file_path), f.read())
    elif operation is not None and "requestBody" in operation:
        body = _deref(operation["requestBody"], document)
        content = body.get("content") or {}
        if "application/json" in content:
            value = _example(content["application/json"], document)
            if value is _MISSING and body.get("required"):
                return "cannot build its JSON body: add `json` to the samples"
            request.json = None if value is _MISSING else value
        elif body.get("required"):
            kind = next(iter(content), "a body")
            return f"needs a {kind} body: add `form` or `json` to the samples"
    return None


_MISSING: Any = object()


def _deref(node: Any, document: dict[str, Any], depth: int = 0) -> Any:
    while isinstance(node, dict) and "$ref" in node and depth < 20:
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, depth = target, depth + 1
    return node


def _example(node: Any, document: dict[str, Any], depth: int = 0) -> Any:
    """A value for a parameter or media type: its example, default, or one built from its
    schema (the smallest valid-looking value)."""
    if depth > 8:
        return _MISSING
    node = _deref(node, document)
    if not isinstance(node, dict):
        return _MISSING
    for key in ("example", "default", "const"):
        if key in node:
            return node[key]
    examples = node.get("examples")
    if isinstance(examples, dict) and examples:
        first = _deref(next(iter(examples.values())), document)
        if isinstance(first, dict) and "value" in first:
            return first["value"]
    if isinstance(examples, list) and examples:
        return examples[0]
    if "schema" in node:
        return _example(node["schema"], document, depth + 1)
    if node.get("enum"):
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        for option in node.get(key, []):
            option = _deref(option, document)
            if isinstance(option, dict) and option.get("type") != "null":
                return _example(option, document, depth + 1)
    kind = node.get("type")
    if kind == "integer":
        return int(max(1, node.get("minimum", 1)))
    if kind == "number":
        return float(max(1, node.get("minimum", 1)))
    if kind == "boolean":
        return True
    if kind == "string":
        return _string(node)
    if kind == "array":
        item = _example(node.get("items", {}), document, depth + 1)
        return [] if item is _MISSING else [item]
    if kind == "object" or "properties" in node:
        value = {}
        for name in node.get("required", []):
            prop = _example(node.get("properties", {}).get(name, {}), document, depth + 1)
            if prop is _MISSING:
                return _MISSING
            value[name] = prop
        return value
    return _MISSING


def _string(schema: dict[str, Any]) -> str:
    formats = {
        "uuid": _UUID,
        "date": "2024-01-01",
        "date-time": "2024-01-01T00:00:00Z",
        "email": "probe@example.com",
        "uri": "http://127.0.0.1/",
    }
    text = formats.get(schema.get("format", ""), "1")
    return text.ljust(int(schema.get("minLength", 0)), "1")


def _by_convertor(convertor: str) -> Any:
    return {"IntegerConvertor": 1, "FloatConvertor": 1.0, "UUIDConvertor": _UUID}.get(
        convertor, "1"
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
