"""`make demo`: `loopsafe doctor` on the antipatterns twin and on the reference service.

Starts the upstream app (examples/upstream) on 127.0.0.1, then runs the doctor on each example
with the request samples its routes need (written to a scratch directory: a bearer token, a
form, an image to upload). It checks the outcome the examples promise, and says so:

- examples/antipatterns: exactly the planted mistakes of manifest.toml found, and every blocking
  route of routes.toml confirmed at runtime, on one of its culprit lines (the PostgreSQL route
  only when LEGACY_PG_DSN is set);
- examples/service: no static finding, no route that blocks, serializes or hangs, every
  serialization factor at most 1.3.

Exit 0 when both hold, 1 when one does not, 2 when something could not run. The HTML reports
are kept (their paths are printed).

Usage: python examples/demo.py [--n N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent
TWIN = EXAMPLES / "antipatterns"
SERVICE = EXAMPLES / "service"
# Routes that block for seconds per request: fewer at once keep the demo short.
SLOW = {"GET /reports/finished/next", "POST /orders/{order_id}/pay", "POST /uploads/avatar"}
MAX_FACTOR = 1.3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_upstream() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "upstream:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=EXAMPLES / "upstream",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/ok/healthz", timeout=1).close()
            return proc, url
        except OSError as exc:
            if getattr(exc, "code", None) is not None:  # it answered (a 404 is fine)
                return proc, url
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("demo: the upstream app did not start within 30 s")


def token(secret: str, user_id: int = 1) -> str:
    """The examples' bearer token for the seeded demo user (an HMAC of the user id)."""
    sig = hmac.new(secret.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()
    return f"{user_id}.{sig}"


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def write_samples(path: Path, routes: dict[str, dict[str, Any]], headers: dict[str, str]) -> None:
    lines = [f"headers = {toml_value(headers)}"] if headers else []
    for key, entry in routes.items():
        lines.append(f"[routes.{json.dumps(key)}]")
        lines.extend(f"{name} = {toml_value(value)}" for name, value in entry.items())
    path.write_text("\n".join(lines) + "\n")


def twin_samples(scratch: Path, plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Samples for each blocking route of routes.toml: its path and query values, its body."""
    auth = {"Authorization": f"Bearer {token('change-me')}"}
    samples: dict[str, dict[str, Any]] = {}
    for entry in plan["route"]:
        template = entry["route"].partition(" ")[2]
        concrete, _, query = entry["path"].partition("?")
        names = re.findall(r"{(\w+)}", template)
        pattern = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        match = re.match(pattern, concrete)
        sample: dict[str, Any] = {}
        if names and match:
            sample["path"] = {n: match.group(n) for n in names}
        if query:
            sample["query"] = dict(pair.split("=", 1) for pair in query.split("&"))
        if "form" in entry:
            sample["form"] = entry["form"]
        if entry.get("auth") == "bearer":
            sample["headers"] = auth
        if "upload" in entry:
            image = scratch / entry["upload"]["filename"]
            if not image.exists():
                from PIL import Image

                size = (entry["upload"]["width"], entry["upload"]["height"])
                Image.effect_noise(size, 64).save(image)
            sample["files"] = {entry["upload"]["field"]: str(image)}
        if entry["route"] in SLOW:
            sample["n"] = 4
        samples[entry["route"]] = sample
    return samples


def doctor(
    app_dir: Path, samples: Path, out: Path, env: dict[str, str], n: int, *extra: str
) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "loopsafe", "doctor", str(app_dir.relative_to(Path.cwd())),
        "--app", "app.main:app", "--samples", str(samples), "-n", str(n), "--timeout", "20",
        "--start-timeout", "90", "--html", str(out.with_suffix(".html")),
        "--json-file", str(out.with_suffix(".json")), *extra,
    ]  # fmt: skip
    print(f"\n$ {' '.join(command[2:])}", flush=True)
    done = subprocess.run(command, env={**os.environ, **env}, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"demo: loopsafe doctor failed (exit {done.returncode})")
    data: dict[str, Any] = json.loads(out.with_suffix(".json").read_text())
    return data


def judge_twin(data: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """Each blocking route of routes.toml must be confirmed on one of its culprit lines."""
    routes = {r["route"]: r for r in data["probe"]["routes"]}
    problems, confirmed = [], 0
    for entry in plan["route"]:
        missing = [name for name in entry.get("needs", []) if not os.environ.get(name)]
        if missing:
            print(f"  not run   {entry['route']}: needs {', '.join(missing)}")
            continue
        result = routes.get(entry["route"], {})
        lines = {
            f"{os.path.relpath(g['user_frame']['path'], TWIN)}:{g['user_frame']['line']}"
            for g in result.get("stalls") or []
            if g.get("user_frame")
        }
        hit = sorted(lines & set(entry["culprits"]))
        if result.get("verdict") in ("blocks", "hangs") and hit:
            confirmed += 1
            print(f"  confirmed {entry['route']} at {', '.join(hit)}")
        else:
            problems.append(
                f"{entry['route']}: verdict {result.get('verdict')}, stalls at {sorted(lines)}, "
                f"expected one of {entry['culprits']} ({result.get('reason')})"
            )
    print(f"  {confirmed} blocking routes of examples/antipatterns/routes.toml confirmed")
    manifest = tomllib.loads((TWIN / "manifest.toml").read_text())["mistake"]
    planted = {(m["file"], m["line"], m["rule"]) for m in manifest}
    found = {(os.path.relpath(f["path"], TWIN), f["line"], f["code"]) for f in data["findings"]}
    problems.extend(f"planted mistake not found: {m}" for m in sorted(planted - found))
    problems.extend(f"finding not in the manifest: {f}" for f in sorted(found - planted))
    print(f"  {len(planted & found)} of {len(planted)} planted mistakes found by the checker")
    return problems


def judge_service(data: dict[str, Any]) -> list[str]:
    problems = [f"finding {f['path']}:{f['line']} {f['code']}" for f in data["findings"]]
    for route in data["probe"]["routes"]:
        factor = route.get("serialization_factor")
        if route.get("verdict") not in (None, "ok") or (factor is not None and factor > MAX_FACTOR):
            problems.append(f"{route['route']}: {route['verdict']}, factor {factor}")
    problems.extend(f"runtime-only stall in {s['route']}" for s in data["runtime_only"])
    measured = [r for r in data["probe"]["routes"] if r.get("serialization_factor") is not None]
    worst = max((r["serialization_factor"] for r in measured), default=0.0)
    print(f"  examples/service: {len(data['findings'])} findings, {len(measured)} routes "
          f"measured, worst factor {worst:.2f} (at most {MAX_FACTOR})")  # fmt: skip
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="concurrent requests per route")
    parser.add_argument("--keep", type=Path, help="directory for the reports (default: a temp dir)")
    args = parser.parse_args()
    os.chdir(EXAMPLES.parent)
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="loopsafe-demo-"))
    scratch.mkdir(parents=True, exist_ok=True)
    plan = tomllib.loads((TWIN / "routes.toml").read_text())
    upstream, url = start_upstream()
    try:
        twin_file = scratch / "twin-samples.toml"
        write_samples(twin_file, twin_samples(scratch, plan), {})
        twin_env = {
            key: value.replace("{upstream}", url).replace("{var}", str(scratch / "twin-var"))
            for key, value in plan["server"]["env"].items()
        }
        twin = doctor(TWIN, twin_file, scratch / "twin", twin_env, args.n)
        service_file = scratch / "service-samples.toml"
        write_samples(
            service_file,
            {
                "GET /products/{sku}/offers": {"path": {"sku": "KB-101"}},
                "GET /products/{product_id}/price": {"query": {"currency": "USD"}},
                "GET /orders/shipping-quote": {"query": {"postcode": "75001", "weight_kg": 2.5}},
            },
            {"Authorization": f"Bearer {token('dev-only-secret')}"},
        )
        service_env = {"UPSTREAM_URL": url, "VAR_DIR": str(scratch / "service-var")}
        service = doctor(
            SERVICE, service_file, scratch / "service", service_env, args.n,
            "--max-factor", str(MAX_FACTOR),
        )  # fmt: skip
    finally:
        upstream.terminate()
        upstream.wait(10)
    print("\nloopsafe demo:")
    problems = judge_twin(twin, plan) + judge_service(service)
    print(f"  reports: {scratch / 'twin.html'}, {scratch / 'service.html'}")
    for problem in problems:
        print(f"  NOT AS EXPECTED: {problem}")
    print("  as expected" if not problems else f"  {len(problems)} unexpected result(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
